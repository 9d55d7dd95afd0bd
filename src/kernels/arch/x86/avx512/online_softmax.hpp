// What the AVX-512 attention kernels that add values in f32 share (attention.cpp over f16, f32 or
// q8_0 rows widened to f32; attention_q8_0_int.cpp with integer scores over q8_0 keys): a query's
// online-softmax state, the fold of a block of 16 scores into it, the weighted sum of a block's
// values, and the widening of q8_0 rows. Include only from the x86/avx512/ files.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <limits>

#include "kernels/arch/x86/avx512/exp.hpp"
#include "kernels/kv_blocks.hpp"
#include "kernels/quant_blocks.hpp"

namespace llama3::kernels::avx512::softmax {

constexpr std::size_t kMaxVectors = 16;                // head_dim <= 256, 16 dims a vector
constexpr std::size_t kKeyBlock = kAttentionKeyBlock;  // keys per softmax block: one vector
constexpr std::size_t kMaxGroup = 16;  // query heads per pass; larger groups take several passes

// One query head's online-softmax state between key blocks.
struct alignas(64) QueryState {
  __m512 acc[kMaxVectors];  // unnormalised output, [head_dim]
  __m512 denominator;       // per-lane partial sums of the weights
  float running_max;
};

template <std::size_t NV>
inline void start(QueryState& state) {
  for (std::size_t v = 0; v < NV; ++v) state.acc[v] = _mm512_setzero_ps();
  state.denominator = _mm512_setzero_ps();
  state.running_max = -std::numeric_limits<float>::infinity();
}

// out [16 * NV] = the accumulator over the sum of the weights.
template <std::size_t NV>
inline void finish(const QueryState& state, float* out) {
  const float total = _mm512_reduce_add_ps(state.denominator);
  const __m512 inverse = _mm512_set1_ps(total > 0.0f ? 1.0f / total : 0.0f);
  for (std::size_t v = 0; v < NV; ++v)
    _mm512_storeu_ps(out + 16 * v, _mm512_mul_ps(state.acc[v], inverse));
}

// Folds the raw dot products of a block's keys (lane j: key j; lanes from n on are ignored) into
// the query's state: returns the block's softmax weights and sets `correction`, the factor the
// accumulator must be scaled by before they are added.
inline __m512 fold_scores(__m512 dots, std::size_t n, float scale, QueryState& state,
                          float& correction) {
  const auto valid = static_cast<__mmask16>(n >= kKeyBlock ? 0xFFFF : (1u << n) - 1u);
  const __m512 scores =
      _mm512_mask_blend_ps(valid, _mm512_set1_ps(-std::numeric_limits<float>::infinity()),
                           _mm512_mul_ps(dots, _mm512_set1_ps(scale)));
  const float block_max = _mm512_reduce_max_ps(scores);
  correction = 1.0f;
  if (block_max > state.running_max) {
    // exp(-inf) = 0 on the first block: the empty accumulator stays 0.
    correction = std::exp(state.running_max - block_max);
    state.denominator = _mm512_mul_ps(state.denominator, _mm512_set1_ps(correction));
    state.running_max = block_max;
  }
  const __m512 weights = exp_ps(_mm512_sub_ps(scores, _mm512_set1_ps(state.running_max)));
  state.denominator = _mm512_add_ps(state.denominator, weights);
  return weights;
}

// acc = acc * correction + sum_j weights[j] * value_j over the block's n value rows (f32, `stride`
// apart). Even and odd keys go to separate accumulators so twice as many FMA chains are in flight.
template <std::size_t NV>
inline void accumulate_block(const float* values, std::size_t stride, std::size_t n,
                             const float* weights, float correction, QueryState& state) {
  __m512 even[NV], odd[NV];
  const __m512 c = _mm512_set1_ps(correction);
  for (std::size_t v = 0; v < NV; ++v) {
    even[v] = _mm512_mul_ps(state.acc[v], c);
    odd[v] = _mm512_setzero_ps();
  }
  std::size_t j = 0;
  for (; j + 1 < n; j += 2) {
    const float* a = values + j * stride;
    const float* b = a + stride;
    const __m512 wa = _mm512_set1_ps(weights[j]), wb = _mm512_set1_ps(weights[j + 1]);
    for (std::size_t v = 0; v < NV; ++v) {
      even[v] = _mm512_fmadd_ps(wa, _mm512_loadu_ps(a + 16 * v), even[v]);
      odd[v] = _mm512_fmadd_ps(wb, _mm512_loadu_ps(b + 16 * v), odd[v]);
    }
  }
  if (j < n) {
    const float* a = values + j * stride;
    const __m512 wa = _mm512_set1_ps(weights[j]);
    for (std::size_t v = 0; v < NV; ++v)
      even[v] = _mm512_fmadd_ps(wa, _mm512_loadu_ps(a + 16 * v), even[v]);
  }
  for (std::size_t v = 0; v < NV; ++v) state.acc[v] = _mm512_add_ps(even[v], odd[v]);
}

// Row [16 * NV] of a q8_0 cache (kv_q8_0.hpp) widened to f32, 16 quants at a time: exactly the
// values q8_0_value gives, so a kernel computes what it does over the dequantized rows in f32.
template <std::size_t NV>
inline void widen_q8_0(const BlockQ8_0* row, float* out) {
  for (std::size_t v = 0; v < NV; ++v) {
    const BlockQ8_0& block = row[v / 2];
    const __m128i q =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.qs.data() + 16 * (v % 2)));
    _mm512_store_ps(out + 16 * v, _mm512_mul_ps(_mm512_set1_ps(_cvtsh_ss(block.d)),
                                                _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q))));
  }
}

}  // namespace llama3::kernels::avx512::softmax
