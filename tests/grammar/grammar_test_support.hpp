// Helpers for grammar tests: compile GBNF and ask whether whole strings match.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "grammar/byte_matcher.hpp"
#include "grammar/gbnf_parser.hpp"

namespace llama3::testing {

inline std::shared_ptr<const grammar::GrammarIr> gbnf(std::string_view text) {
  return std::make_shared<const grammar::GrammarIr>(grammar::parse_gbnf(text));
}

// True when `input` is a complete sentence of the grammar.
inline bool matches(const std::shared_ptr<const grammar::GrammarIr>& g, std::string_view input) {
  grammar::ByteMatcher matcher(g);
  return matcher.feed(input) && matcher.is_accepting();
}

// True when `input` can be continued into a sentence (a prefix of one).
inline bool is_prefix(const std::shared_ptr<const grammar::GrammarIr>& g, std::string_view input) {
  grammar::ByteMatcher matcher(g);
  return matcher.feed(input);
}

}  // namespace llama3::testing
