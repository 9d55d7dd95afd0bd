// The split pattern's seven alternatives, tried in order at each position, as the regex engine
// would. Comments name the alternative (A1..A7) each block implements.
#include "tokenizer/pre_tokenizer.hpp"

#include <array>
#include <cstdint>

#include "tokenizer/unicode_tables.hpp"

namespace llama3::detail {
namespace {

constexpr std::uint32_t kInvalid =
    0xFFFFFFFF;  // a byte that does not start a well-formed character

struct Char {
  std::uint32_t code_point = kInvalid;
  std::uint32_t length = 0;  // bytes; 0 only at the end of the text
  std::uint8_t bits = 0;     // CodePointClassBits
};

constexpr std::array<std::uint8_t, 128> make_ascii_classes() {
  std::array<std::uint8_t, 128> classes{};
  for (int c = 'a'; c <= 'z'; ++c) classes[c] = kClassLetter;
  for (int c = 'A'; c <= 'Z'; ++c) classes[c] = kClassLetter;
  for (int c = '0'; c <= '9'; ++c) classes[c] = kClassNumber;
  for (int c : {'\t', '\n', '\v', '\f', '\r', ' '}) classes[c] = kClassWhiteSpace;
  return classes;
}
constexpr auto kAsciiClasses = make_ascii_classes();

// Decodes the character at `pos`: well-formed UTF-8 only (no overlongs, surrogates or values above
// U+10FFFF); anything else is one invalid byte.
Char char_at(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return {};
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t left = text.size() - pos;
  const unsigned char lead = bytes[pos];
  if (lead < 0x80) return {lead, 1, kAsciiClasses[lead]};
  auto cont = [&](std::size_t i) { return i < left && (bytes[pos + i] & 0xC0) == 0x80; };
  std::uint32_t cp = kInvalid;
  std::uint32_t length = 1;
  if (lead >= 0xC2 && lead <= 0xDF && cont(1)) {
    cp = ((lead & 0x1Fu) << 6) | (bytes[pos + 1] & 0x3Fu);
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF && cont(1) && cont(2)) {
    cp = ((lead & 0x0Fu) << 12) | ((bytes[pos + 1] & 0x3Fu) << 6) | (bytes[pos + 2] & 0x3Fu);
    length = 3;
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) cp = kInvalid;
  } else if (lead >= 0xF0 && lead <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    cp = ((lead & 0x07u) << 18) | ((bytes[pos + 1] & 0x3Fu) << 12) |
         ((bytes[pos + 2] & 0x3Fu) << 6) | (bytes[pos + 3] & 0x3Fu);
    length = 4;
    if (cp < 0x10000 || cp > 0x10FFFF) cp = kInvalid;
  }
  if (cp == kInvalid) return {kInvalid, 1, 0};
  return {cp, length, code_point_class(cp)};
}

bool is_letter(const Char& c) {
  return (c.bits & kClassLetter) != 0;
}
bool is_number(const Char& c) {
  return (c.bits & kClassNumber) != 0;
}
bool is_space(const Char& c) {
  return (c.bits & kClassWhiteSpace) != 0;
}
bool is_cr_or_lf(const Char& c) {
  return c.code_point == '\r' || c.code_point == '\n';
}
// [^\s\p{L}\p{N}]: punctuation, symbols, controls that are not white space, invalid bytes.
bool is_other(const Char& c) {
  return c.length != 0 && c.bits == 0;
}

// Case-insensitive single-letter match with Unicode simple case folding: for the letters in the
// contractions the only extra fold is U+017F LONG S -> 's'.
bool folds_to(const Char& c, char lower) {
  const std::uint32_t cp = c.code_point;
  if (cp == static_cast<std::uint32_t>(lower) || cp == static_cast<std::uint32_t>(lower - 32)) {
    return true;
  }
  return lower == 's' && cp == 0x017F;
}

// A1: (?i:'s|'t|'re|'ve|'m|'ll|'d) after an apostrophe at `pos`; 0 when none matches.
std::size_t contraction_length(std::string_view text, std::size_t pos) {
  const Char first = char_at(text, pos + 1);
  if (first.length == 0) return 0;
  if (folds_to(first, 's') || folds_to(first, 't') || folds_to(first, 'm') ||
      folds_to(first, 'd')) {
    return 1 + first.length;
  }
  const Char second = char_at(text, pos + 1 + first.length);
  if (second.length == 0) return 0;
  if ((folds_to(first, 'r') || folds_to(first, 'v')) && folds_to(second, 'e')) return 3;
  if (folds_to(first, 'l') && folds_to(second, 'l')) return 3;
  return 0;
}

// End of the run of characters satisfying `keep` that starts at `pos`.
template <typename Keep>
std::size_t run_end(std::string_view text, std::size_t pos, Keep keep) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  while (pos < text.size()) {
    if (bytes[pos] < 0x80) {  // ASCII fast path: no decoding
      const Char c{bytes[pos], 1, kAsciiClasses[bytes[pos]]};
      if (!keep(c)) break;
      ++pos;
      continue;
    }
    const Char c = char_at(text, pos);
    if (!keep(c)) break;
    pos += c.length;
  }
  return pos;
}

// A4's tail: [^\s\p{L}\p{N}]+[\r\n]* from `pos`, where the first character is known to be "other".
std::size_t others_then_newlines_end(std::string_view text, std::size_t pos) {
  pos = run_end(text, pos, is_other);
  return run_end(text, pos, is_cr_or_lf);
}

}  // namespace

std::size_t next_piece_length(std::string_view text, std::size_t pos) {
  const Char c0 = char_at(text, pos);

  // A1: contractions.
  if (c0.code_point == '\'') {
    if (const std::size_t length = contraction_length(text, pos)) return length;
  }

  // A2: [^\r\n\p{L}\p{N}]?\p{L}+
  if (is_letter(c0)) return run_end(text, pos, is_letter) - pos;
  if (!is_cr_or_lf(c0) && !is_number(c0)) {
    const Char c1 = char_at(text, pos + c0.length);
    if (is_letter(c1)) return run_end(text, pos + c0.length, is_letter) - pos;
  }

  // A3: \p{N}{1,3}
  if (is_number(c0)) {
    std::size_t end = pos + c0.length;
    for (int count = 1; count < 3; ++count) {
      const Char c = char_at(text, end);
      if (!is_number(c)) break;
      end += c.length;
    }
    return end - pos;
  }

  // A4: ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  if (c0.code_point == ' ') {
    const Char c1 = char_at(text, pos + 1);
    if (is_other(c1)) return others_then_newlines_end(text, pos + 1) - pos;
  }
  if (is_other(c0)) return others_then_newlines_end(text, pos) - pos;

  // c0 is white space. Scan the whole run once, noting its last \r/\n and its last character's
  // start.
  std::size_t end = pos;
  std::size_t last_newline_end = 0;
  std::size_t last_char_start = pos;
  std::size_t n_chars = 0;
  while (end < text.size()) {
    const Char c = char_at(text, end);
    if (!is_space(c)) break;
    last_char_start = end;
    end += c.length;
    ++n_chars;
    if (is_cr_or_lf(c)) last_newline_end = end;
  }

  // A5: \s*[\r\n]+ — greedy \s* backs off to the run's last \r or \n.
  if (last_newline_end != 0) return last_newline_end - pos;
  // A6: \s+(?!\S) — the whole run at the end of the text, else all but its last character.
  if (end == text.size()) return end - pos;
  if (n_chars >= 2) return last_char_start - pos;
  // A7: \s+ — a single white-space character before a non-space.
  return end - pos;
}

}  // namespace llama3::detail
