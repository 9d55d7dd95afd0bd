// Per-arch activation rounding; quantized_activations.cpp picks one at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace llama3::kernels::avx512 {

// One token's row of `cols` values (a multiple of 32) rounded as quantize_activations does, bit
// for bit: q [cols], and per B-block (B = 16 or 32) scale, -zero_point * sum(q), scale * sum(q).
void quantize_activation_row(const float* x, std::size_t cols, std::size_t block_values,
                             int zero_point, std::int8_t* q, float* scales, std::int32_t* init,
                             float* sums);

}  // namespace llama3::kernels::avx512
