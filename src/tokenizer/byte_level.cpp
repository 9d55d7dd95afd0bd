#include "tokenizer/byte_level.hpp"

#include <array>
#include <cstdint>

namespace llama3::detail {
namespace {

struct Alphabet {
  std::array<std::uint16_t, 256> char_of_byte{};   // byte -> code point
  std::array<std::int16_t, 0x144> byte_of_char{};  // code point (< 0x144) -> byte, or -1

  constexpr Alphabet() {
    for (auto& b : byte_of_char) b = -1;
    std::uint16_t extra = 0x100;
    for (int byte = 0; byte < 256; ++byte) {
      const bool self = (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) ||
                        (byte >= 0xAE && byte <= 0xFF);
      char_of_byte[byte] = self ? static_cast<std::uint16_t>(byte) : extra++;
      byte_of_char[char_of_byte[byte]] = static_cast<std::int16_t>(byte);
    }
  }
};
constexpr Alphabet kAlphabet;

}  // namespace

std::string byte_level_encode(std::string_view bytes) {
  std::string text;
  text.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    const std::uint16_t cp = kAlphabet.char_of_byte[byte];
    if (cp < 0x80) {
      text += static_cast<char>(cp);
    } else {  // all alphabet characters are below U+0800: two UTF-8 bytes
      text += static_cast<char>(0xC0 | (cp >> 6));
      text += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return text;
}

std::optional<std::string> byte_level_decode(std::string_view text) {
  std::string bytes;
  bytes.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::uint32_t cp;
    if (lead < 0x80) {
      cp = lead;
      i += 1;
    } else if ((lead & 0xE0) == 0xC0 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      cp = ((lead & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      i += 2;
    } else {
      return std::nullopt;
    }
    if (cp >= kAlphabet.byte_of_char.size() || kAlphabet.byte_of_char[cp] < 0) return std::nullopt;
    bytes += static_cast<char>(kAlphabet.byte_of_char[cp]);
  }
  return bytes;
}

}  // namespace llama3::detail
