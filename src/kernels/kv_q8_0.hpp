// Rows of the q8_0 KV cache (docs/kv-cache.md): one KV head's key or value of n values kept as
// ceil(n / 32) Q8_0 blocks (quant_blocks.hpp), each rounded by ggml's rule as it is stored
// (d = max|x| / 127 kept as f16, q = round(x / d)), so a value is off by at most d / 2 plus
// 127 times the f16 rounding of d (at most 2^-11 d): under 0.57 d = 0.0045 max|x| of its block. A
// head size that is not a multiple of 32 (the test models' 8 or 16) pads its last block with zeros,
// which change no scale; Llama 3's 64 and 128 fill 2 and 4 whole blocks.
#pragma once

#include <cstddef>

#include "kernels/half_float.hpp"
#include "kernels/quant_blocks.hpp"

namespace llama3::kernels {

// Blocks of one row of n values.
constexpr std::size_t q8_0_row_blocks(std::size_t n) {
  return (n + kLegacyBlockValues - 1) / kLegacyBlockValues;
}

// out: [q8_0_row_blocks(n)] from x: [n].
void quantize_q8_0_row(const float* x, std::size_t n, BlockQ8_0* out);
// out: [n] from row: [q8_0_row_blocks(n)].
void dequantize_q8_0_row(const BlockQ8_0* row, std::size_t n, float* out);

// Value i of a row. The product of an f16 scale and an 8-bit quant is exact in f32, so every
// kernel that widens a row gets these same values.
inline float q8_0_value(const BlockQ8_0* row, std::size_t i) {
  const BlockQ8_0& block = row[i / kLegacyBlockValues];
  return f16_to_f32(block.d) * static_cast<float>(block.qs[i % kLegacyBlockValues]);
}

}  // namespace llama3::kernels
