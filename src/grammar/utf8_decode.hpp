// Decoding one UTF-8 character of grammar or pattern text, shared by the GBNF and regex readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace llama3::grammar {

// The code point at text[pos] and its length in bytes; length 0 when the bytes there are not a
// well-formed lead byte with its continuation bytes (the caller reports where).
struct DecodedCharacter {
  std::uint32_t code_point = 0;
  std::size_t length = 0;
};

inline DecodedCharacter decode_utf8_at(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return {};
  const auto lead = static_cast<unsigned char>(text[pos]);
  const std::size_t n = lead < 0x80         ? 1
                        : (lead >> 5) == 6  ? 2
                        : (lead >> 4) == 14 ? 3
                        : (lead >> 3) == 30 ? 4
                                            : 0;
  if (n == 0 || pos + n > text.size()) return {};
  std::uint32_t cp = n == 1 ? lead : lead & (0x7F >> n);
  for (std::size_t i = 1; i < n; ++i) {
    const auto byte = static_cast<unsigned char>(text[pos + i]);
    if ((byte & 0xC0) != 0x80) return {};
    cp = (cp << 6) | (byte & 0x3F);
  }
  return {cp, n};
}

}  // namespace llama3::grammar
