// Unicode classes for Llama 3's pre-tokenizer: letter (\p{L}), number (\p{N}) and White_Space (\s),
// from generated ranges (tools/gen_unicode_tables.py) folded into a two-level lookup table.
#pragma once

#include <cstdint>
#include <span>

namespace llama3::detail {

enum CodePointClassBits : std::uint8_t {
  kClassLetter = 1,
  kClassNumber = 2,
  kClassWhiteSpace = 4,
};

struct CodePointRange {
  std::uint32_t first;
  std::uint32_t last;  // inclusive
  std::uint8_t bits;   // CodePointClassBits
};

// Sorted, non-overlapping ranges; code points outside every range have no class bits (generated).
std::span<const CodePointRange> code_point_ranges();

// Class bits of a code point (0 for anything above U+10FFFF). Lock-free after the first call.
std::uint8_t code_point_class(std::uint32_t code_point);

}  // namespace llama3::detail
