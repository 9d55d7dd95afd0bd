// Spelling GBNF text from other compilers (JSON Schema, regular expressions).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/grammar_builder.hpp"

namespace llama3::grammar {

// The parts joined. (g++ 12 at -O3 warns falsely (-Wrestrict) on `"literal" + std::string(...)`;
// appending avoids that pattern.)
std::string concat(std::initializer_list<std::string_view> parts);

// `bytes` as a GBNF string literal ("..." with escapes).
std::string gbnf_literal(std::string_view bytes);
// One code point as a GBNF escape usable in literals and classes (\xHH, \uHHHH or \UHHHHHHHH).
std::string gbnf_escape(std::uint32_t cp);
// Normalized ranges as a GBNF class "[...]".
std::string gbnf_class(const std::vector<CodePointRange>& ranges);

}  // namespace llama3::grammar
