// GrammarBuilder: rule bookkeeping, UTF-8 spelling of code point classes, repetition expansion and
// flattening into the GrammarIr the matcher walks.
#include "grammar/grammar_builder.hpp"

#include <algorithm>
#include <string>

#include "llama3/error.hpp"

namespace llama3::grammar {
namespace {

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "grammar: " + message);
}

constexpr std::uint32_t kMaxCodePoint = 0x10FFFF;
constexpr std::uint32_t kSurrogateFirst = 0xD800;
constexpr std::uint32_t kSurrogateLast = 0xDFFF;

std::size_t utf8_length(std::uint32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

// Splits [first, last] (same encoded length) until each piece's UTF-8 encodings form a product of
// byte ranges, i.e. the piece is exactly {b0 in r0, b1 in r1, ...}. At each continuation-byte
// boundary a piece that does not start or end on that boundary is cut there.
void split_utf8(std::uint32_t first, std::uint32_t last,
                std::vector<std::vector<std::pair<std::uint8_t, std::uint8_t>>>& out) {
  const std::size_t n = utf8_length(first);
  for (std::size_t i = 1; i < n; ++i) {
    const std::uint32_t mask = (std::uint32_t{1} << (6 * i)) - 1;
    if ((first & ~mask) != (last & ~mask)) {
      if ((first & mask) != 0) {
        split_utf8(first, first | mask, out);
        split_utf8((first | mask) + 1, last, out);
        return;
      }
      if ((last & mask) != mask) {
        split_utf8(first, (last & ~mask) - 1, out);
        split_utf8(last & ~mask, last, out);
        return;
      }
    }
  }
  std::string lo, hi;
  append_utf8(first, lo);
  append_utf8(last, hi);
  std::vector<std::pair<std::uint8_t, std::uint8_t>> piece;
  for (std::size_t i = 0; i < lo.size(); ++i) {
    piece.emplace_back(static_cast<std::uint8_t>(lo[i]), static_cast<std::uint8_t>(hi[i]));
  }
  out.push_back(std::move(piece));
}

}  // namespace

void append_utf8(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<CodePointRange> normalize_ranges(std::vector<CodePointRange> ranges, bool negate) {
  std::sort(ranges.begin(), ranges.end(),
            [](const CodePointRange& a, const CodePointRange& b) { return a.first < b.first; });
  std::vector<CodePointRange> merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().last + 1) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  if (negate) {
    std::vector<CodePointRange> complement;
    std::uint32_t next = 0;
    for (const auto& r : merged) {
      if (r.first > next) complement.push_back({next, r.first - 1});
      next = r.last + 1;
    }
    if (next <= kMaxCodePoint) complement.push_back({next, kMaxCodePoint});
    merged = std::move(complement);
  }
  std::vector<CodePointRange> result;
  for (const auto& r : merged) {
    if (r.last < kSurrogateFirst || r.first > kSurrogateLast) {
      result.push_back(r);
      continue;
    }
    if (r.first < kSurrogateFirst) result.push_back({r.first, kSurrogateFirst - 1});
    if (r.last > kSurrogateLast) result.push_back({kSurrogateLast + 1, r.last});
  }
  return result;
}

std::uint32_t GrammarBuilder::rule_named(std::string_view name) {
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(definitions_.size());
  definitions_.push_back({std::string(name), false, {}});
  ids_.emplace(std::string(name), id);
  return id;
}

std::uint32_t GrammarBuilder::fresh_rule(std::string_view base) {
  std::string name;
  do {
    name = std::string(base) + "-" + std::to_string(++n_fresh_);
  } while (ids_.count(name) != 0);
  return rule_named(name);
}

void GrammarBuilder::count_elements(std::size_t n) {
  n_elements_ += n;
  if (n_elements_ > kMaxGrammarElements) {
    fail("the grammar expands to more than " + std::to_string(kMaxGrammarElements) +
         " elements (repetition counts too large?)");
  }
}

void GrammarBuilder::define(std::uint32_t rule, std::vector<Sequence> alternatives) {
  auto& definition = definitions_[rule];
  if (definition.defined) fail("rule '" + definition.name + "' is defined twice");
  std::size_t n = 0;
  for (const auto& alternative : alternatives) n += alternative.size() + 1;
  count_elements(n);
  definition.defined = true;
  definition.alternatives = std::move(alternatives);
}

GrammarBuilder::Symbol GrammarBuilder::byte_symbol(const ByteSet& set) {
  auto [it, inserted] =
      byte_set_ids_.emplace(set.words, static_cast<std::uint32_t>(byte_sets_.size()));
  if (inserted) byte_sets_.push_back(set);
  return {false, it->second};
}

void GrammarBuilder::append_literal(std::string_view text, Sequence& out) {
  for (char c : text) {
    ByteSet set;
    set.add_range(static_cast<std::uint8_t>(c), static_cast<std::uint8_t>(c));
    out.push_back(byte_symbol(set));
  }
}

GrammarBuilder::Symbol GrammarBuilder::code_point_class(const std::vector<CodePointRange>& ranges) {
  if (ranges.empty()) fail("a character class matches no character");
  ByteSet ascii;
  bool any_ascii = false;
  std::vector<std::vector<std::pair<std::uint8_t, std::uint8_t>>> pieces;
  for (const auto& r : ranges) {
    std::uint32_t first = r.first;
    if (first < 0x80) {
      ascii.add_range(static_cast<std::uint8_t>(first),
                      static_cast<std::uint8_t>(std::min<std::uint32_t>(r.last, 0x7F)));
      any_ascii = true;
      if (r.last < 0x80) continue;
      first = 0x80;
    }
    // Cut at the encoded-length boundaries first, so each piece has one length.
    for (std::uint32_t boundary : {0x7FFu, 0xFFFFu, kMaxCodePoint}) {
      if (first > r.last) break;
      if (first > boundary) continue;
      const std::uint32_t last = std::min(r.last, boundary);
      split_utf8(first, last, pieces);
      first = last + 1;
    }
  }
  if (pieces.empty()) return byte_symbol(ascii);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> key;
  for (const auto& r : ranges) key.emplace_back(r.first, r.last);
  if (auto it = class_rules_.find(key); it != class_rules_.end()) return rule_symbol(it->second);
  const std::uint32_t rule = fresh_rule("char-class");
  std::vector<Sequence> alternatives;
  if (any_ascii) alternatives.push_back({byte_symbol(ascii)});
  for (const auto& piece : pieces) {
    Sequence sequence;
    for (auto [lo, hi] : piece) {
      ByteSet set;
      set.add_range(lo, hi);
      sequence.push_back(byte_symbol(set));
    }
    alternatives.push_back(std::move(sequence));
  }
  define(rule, std::move(alternatives));
  class_rules_.emplace(std::move(key), rule);
  return rule_symbol(rule);
}

void GrammarBuilder::append_repetition(Symbol item, std::uint32_t min, std::int64_t max,
                                       std::string_view base, Sequence& out) {
  if (min > kMaxRepetition || max > static_cast<std::int64_t>(kMaxRepetition)) {
    fail("repetition count in '" + std::string(base) + "' exceeds the limit of " +
         std::to_string(kMaxRepetition));
  }
  if (max >= 0 && max < static_cast<std::int64_t>(min)) {
    fail("repetition {" + std::to_string(min) + "," + std::to_string(max) + "} in '" +
         std::string(base) + "' has max < min");
  }
  count_elements(min);
  for (std::uint32_t i = 0; i < min; ++i) out.push_back(item);
  if (max < 0) {
    // star ::= item star | (empty): right recursion, so the matcher never loops without a byte.
    const std::uint32_t star = fresh_rule(std::string(base) + "-star");
    define(star, {{item, rule_symbol(star)}, {}});
    out.push_back(rule_symbol(star));
    return;
  }
  // Up to (max - min) more: optional_k ::= item optional_(k-1) | (empty), nested.
  std::uint32_t inner = 0;
  bool have_inner = false;
  for (std::int64_t k = 0; k < max - static_cast<std::int64_t>(min); ++k) {
    const std::uint32_t optional = fresh_rule(std::string(base) + "-opt");
    Sequence present{item};
    if (have_inner) present.push_back(rule_symbol(inner));
    define(optional, {std::move(present), {}});
    inner = optional;
    have_inner = true;
  }
  if (have_inner) out.push_back(rule_symbol(inner));
}

GrammarIr GrammarBuilder::build(std::string_view root) {
  auto root_it = ids_.find(root);
  if (root_it == ids_.end() || !definitions_[root_it->second].defined) {
    fail("no rule named '" + std::string(root) + "' (the start rule)");
  }
  GrammarIr ir;
  ir.byte_sets = byte_sets_;
  ir.root = root_it->second;
  ir.rules.resize(definitions_.size());
  for (std::size_t r = 0; r < definitions_.size(); ++r) {
    const auto& definition = definitions_[r];
    if (!definition.defined) fail("rule '" + definition.name + "' is used but never defined");
    ir.rules[r].name = definition.name;
    for (const auto& alternative : definition.alternatives) {
      ir.rules[r].alternatives.push_back(static_cast<std::uint32_t>(ir.elements.size()));
      for (const auto& symbol : alternative) {
        ir.elements.push_back(
            {symbol.is_rule ? ElementKind::kRule : ElementKind::kBytes, symbol.index});
      }
      ir.elements.push_back({ElementKind::kEnd, 0});
    }
  }
  validate(ir);
  return ir;
}

}  // namespace llama3::grammar
