// Builds a GrammarIr from symbols: rules referenced by name (declared in any order), alternatives
// of symbol sequences, byte sets and code point classes (spelled out as UTF-8 byte sequences here).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "grammar/grammar_ir.hpp"

namespace llama3::grammar {

// One code point range, inclusive.
struct CodePointRange {
  std::uint32_t first = 0;
  std::uint32_t last = 0;
};

class GrammarBuilder {
 public:
  struct Symbol {
    bool is_rule = false;
    std::uint32_t index = 0;  // a rule id or a byte set id
  };
  using Sequence = std::vector<Symbol>;

  // The id of the rule called `name`, created (undefined) on first mention.
  std::uint32_t rule_named(std::string_view name);
  // A fresh rule named after `base` (e.g. "value-star-3"), for groups and repetitions.
  std::uint32_t fresh_rule(std::string_view base);
  // Gives a rule its alternatives; defining one twice is an error.
  void define(std::uint32_t rule, std::vector<Sequence> alternatives);
  bool is_defined(std::uint32_t rule) const { return definitions_[rule].defined; }
  const std::string& name_of(std::uint32_t rule) const { return definitions_[rule].name; }

  Symbol byte_symbol(const ByteSet& set);
  Symbol rule_symbol(std::uint32_t rule) const { return {true, rule}; }
  // The UTF-8 bytes of `text` as a sequence of one-byte symbols.
  void append_literal(std::string_view text, Sequence& out);
  // A symbol matching one code point from `ranges` (already sorted, merged and without
  // surrogates): a byte set when all are ASCII, else a helper rule of UTF-8 byte sequences.
  Symbol code_point_class(const std::vector<CodePointRange>& ranges);

  // `item` repeated min..max times (max < 0: unbounded), appended to `out`.
  void append_repetition(Symbol item, std::uint32_t min, std::int64_t max, std::string_view base,
                         Sequence& out);

  // Flattens into a GrammarIr rooted at `root`; throws when a mentioned rule was never defined or
  // the grammar fails validate().
  GrammarIr build(std::string_view root);

 private:
  struct Definition {
    std::string name;
    bool defined = false;
    std::vector<Sequence> alternatives;
  };
  void count_elements(std::size_t n);

  std::vector<Definition> definitions_;
  std::map<std::string, std::uint32_t, std::less<>> ids_;
  std::vector<ByteSet> byte_sets_;
  std::map<std::array<std::uint64_t, 4>, std::uint32_t> byte_set_ids_;
  std::map<std::vector<std::pair<std::uint32_t, std::uint32_t>>, std::uint32_t> class_rules_;
  std::size_t n_elements_ = 0;
  std::uint32_t n_fresh_ = 0;
};

// Sorts and merges code point ranges and removes the UTF-16 surrogates (never valid in UTF-8);
// with `negate`, returns the complement within U+0000..U+10FFFF instead.
std::vector<CodePointRange> normalize_ranges(std::vector<CodePointRange> ranges, bool negate);

// Appends the UTF-8 encoding of `cp` (<= U+10FFFF) to `out`.
void append_utf8(std::uint32_t cp, std::string& out);

}  // namespace llama3::grammar
