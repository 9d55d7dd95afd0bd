// The grammar engine's intermediate form: a context-free grammar over bytes. Every compiler (GBNF,
// JSON Schema via GBNF, regular expressions via GBNF) ends here, and the matcher and the token
// masks read only this. Characters outside ASCII are already spelled as UTF-8 byte sequences, so
// the matcher never decodes UTF-8 and a token that ends inside a character simply leaves the
// matcher part-way through that character's bytes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace llama3::grammar {

// A set of byte values (256 bits).
struct ByteSet {
  std::array<std::uint64_t, 4> words{};

  void add_range(std::uint8_t lo, std::uint8_t hi) {
    for (unsigned b = lo; b <= hi; ++b) words[b >> 6] |= std::uint64_t{1} << (b & 63);
  }
  bool contains(std::uint8_t b) const { return (words[b >> 6] >> (b & 63)) & 1U; }
  bool operator==(const ByteSet&) const = default;
};

enum class ElementKind : std::uint8_t {
  kBytes,  // one byte from byte_sets[index]
  kRule,   // rules[index]
  kEnd,    // ends an alternative
};

struct Element {
  ElementKind kind = ElementKind::kEnd;
  std::uint32_t index = 0;
};

struct Rule {
  std::string name;
  // Where each alternative starts in GrammarIr::elements; it runs to the next kEnd. An alternative
  // that starts at a kEnd matches the empty string.
  std::vector<std::uint32_t> alternatives;
};

struct GrammarIr {
  std::vector<ByteSet> byte_sets;
  std::vector<Element> elements;
  std::vector<Rule> rules;
  std::uint32_t root = 0;
};

// Limits that keep hostile grammars from exhausting memory or time; exceeding one is a clear error.
inline constexpr std::size_t kMaxGrammarElements = std::size_t{1} << 22;
inline constexpr std::uint32_t kMaxRepetition = 10000;

// Checks that the grammar can be matched by a pushdown walk that always terminates: every rule can
// produce some finite string (no rule only loops), and no rule reaches itself again before
// consuming a byte (left recursion, direct or through empty-matching rules). Throws
// Error(kInvalidArgument) naming the rules involved.
void validate(const GrammarIr& grammar);

}  // namespace llama3::grammar
