// Per-block quantizers behind quantize_row. Each reads one block's worth of f32 values (32 or 256)
// and returns the packed block. Internal to the kernels layer.
#pragma once

#include "kernels/quant_blocks.hpp"

namespace llama3::kernels::reference {

// Legacy quants (quantize_legacy.cpp): ggml's reference rule, unless that rule does not reproduce
// the input exactly and another block does (see exact_representation.hpp).
BlockQ8_0 quantize_block_q8_0(const float* x);  // x: [32]
// ggml's Q8_0 rule alone (d = amax / 127, q = round(x / d)), without the exact-block search: the
// fast form for data that is rounded as it is produced (the q8_0 KV cache).
BlockQ8_0 round_block_q8_0(const float* x);     // x: [32]
BlockQ4_0 quantize_block_q4_0(const float* x);  // x: [32]
BlockQ4_1 quantize_block_q4_1(const float* x);  // x: [32]
BlockQ5_0 quantize_block_q5_0(const float* x);  // x: [32]
BlockQ5_1 quantize_block_q5_1(const float* x);  // x: [32]

// K-quants (quantize_k.cpp): least-squares fit of the sub-block scales, then 6/8-bit scale
// quantization.
BlockQ4_K quantize_block_q4_k(const float* x);  // x: [256]
BlockQ5_K quantize_block_q5_k(const float* x);  // x: [256]
BlockQ6_K quantize_block_q6_k(const float* x);  // x: [256]

}  // namespace llama3::kernels::reference
