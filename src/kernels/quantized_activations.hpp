// Activations rounded to 8-bit blocks once per matmul, so the integer kernels can use int8 dot
// products. Every 32 values of a token share one f32 scale d = max|x| / 127 and q = round(x / d)
// (ggml's Q8_0 rounding, with an f32 rather than f16 scale). Per weight block (B values) the sums
// the kernels need for the weight's zero point or min are precomputed here, so the inner loops hold
// only the dot products.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cpu_arch.hpp"
#include "kernels/packed_matrix.hpp"

namespace llama3::kernels {

struct QuantizedActivations {
  std::size_t n_tokens = 0;
  std::size_t cols = 0;
  std::size_t block_values = 32;    // B of the weight these were prepared for
  std::vector<std::int8_t> qs;      // [n_tokens, cols]
  std::vector<float> block_scales;  // [n_tokens, cols / B]  d of the 32-block holding the block
  std::vector<std::int32_t> block_init;  // [n_tokens, cols / B]  -zero_point * sum(q in block)
  std::vector<float> block_sums;  // [n_tokens, cols / B]  d * sum(q in block), for weight mins

  // The same values laid out once more for a level whose kernel reads 16 tokens at a time
  // (KernelTable::tile_activations; the AMX level's A tiles), made once per rounding so the
  // threads' chunks of weight rows all read one copy. tile_tokens: tokens laid out (a multiple of
  // 16, the rows past n_tokens zero), 0 when none.
  std::size_t tile_tokens = 0;
  std::vector<std::int8_t> tile_qs;  // [tile_tokens / 16][cols / B][16 tokens][B]
  std::vector<float> tile_scales;    // [tile_tokens / 16][cols / B][16 tokens]
  std::vector<float> tile_sums;      // as tile_scales, from block_sums
};

// Fills `out` (reusing its capacity: no allocation once it has seen the largest shape).
// x: [n_tokens, cols], cols a multiple of 32.
void quantize_activations(const float* x, std::size_t n_tokens, std::size_t cols,
                          const IntBlockFormat& format, QuantizedActivations& out);
// The same at a given arch (every arch gives bit-identical results).
void quantize_activations(const float* x, std::size_t n_tokens, std::size_t cols,
                          const IntBlockFormat& format, QuantizedActivations& out, Arch arch);

// The two halves of quantize_activations, so threads can round disjoint token ranges: size `out`
// for n_tokens x cols (once, on one thread), then fill tokens [token_begin, token_end).
void prepare_activations(std::size_t n_tokens, std::size_t cols, const IntBlockFormat& format,
                         QuantizedActivations& out);
void quantize_activation_tokens(const float* x, std::size_t token_begin, std::size_t token_end,
                                const IntBlockFormat& format, QuantizedActivations& out, Arch arch);

// The activations as the integer kernels see them (q * d), for tests.  out: [n_tokens, cols]
void dequantize_activations(const QuantizedActivations& activations, float* out);

}  // namespace llama3::kernels
