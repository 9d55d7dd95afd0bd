// GPT-2's byte-level alphabet: every byte is written as one printable Unicode character, so that
// vocabularies (tokenizer.json, GGUF) can store arbitrary bytes as text. Bytes 0x21-0x7E, 0xA1-0xAC
// and 0xAE-0xFF stand for themselves; the other 68, in increasing order, become U+0100, U+0101, ...
// (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llama3::detail {

// Raw bytes -> byte-level text (UTF-8).
std::string byte_level_encode(std::string_view bytes);
// Byte-level text -> raw bytes; nullopt when the text holds a character outside the alphabet.
std::optional<std::string> byte_level_decode(std::string_view text);

}  // namespace llama3::detail
