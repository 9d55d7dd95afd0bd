// What the AVX-512 attention kernels that add values in f32 share (attention.cpp over f16, f32 or
// q8_0 rows widened to f32; attention_q8_0_int.cpp with integer scores over q8_0 keys): a query's
// online-softmax state, the fold of a block of 16 scores into it, the weighted sum of a block's
// values, and the widening of q8_0 rows. Include only from the x86/avx512/ files.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>

#include "kernels/arch/x86/avx512/exp.hpp"
#include "kernels/kv_blocks.hpp"
#include "kernels/quant_blocks.hpp"

namespace llama3::kernels::avx512::softmax {

constexpr std::size_t kMaxVectors = 16;                // head_dim <= 256, 16 dims a vector
constexpr std::size_t kKeyBlock = kAttentionKeyBlock;  // keys per softmax block: one vector
// Queries per pass over the keys (larger runs take several passes): the forward pass hands over 8
// tokens' GQA groups of 4 at a time, and each key block's layout is shared by all 32.
constexpr std::size_t kMaxPass = 32;

// Calls f.template operator()<C>() with C = count, for 1 <= count <= Max: a step unrolled for a
// compile-time number of queries, picked at run time for the last, partial chunk of a pass.
template <std::size_t Max, typename F>
inline void with_count(std::size_t count, F&& f) {
  if constexpr (Max > 1) {
    if (count < Max) return with_count<Max - 1>(count, std::forward<F>(f));
  }
  f.template operator()<Max>();
}

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

// Queries whose values are summed together (one load of a value row serves all of them): as many
// as keep their accumulators, C x NV vectors, within 16 registers.
template <std::size_t NV>
constexpr std::size_t kValueChunk = NV <= 4   ? 4
                                    : NV <= 8 ? 2
                                              : 1;

// For each query c < C: acc = acc * corrections[c] + sum over j < n, in order, of weights[c][j] *
// value_j (n f32 value rows, `stride` apart). A query's arithmetic is the same whatever C and
// whichever queries share its pass, so a prompt's tokens get the bits of one-token decoding.
template <std::size_t NV, std::size_t C>
inline void accumulate_queries(const float* values, std::size_t stride, std::size_t n,
                               const float* const* weights, const float* corrections,
                               QueryState* const* states) {
  __m512 acc[C][NV];
  for (std::size_t c = 0; c < C; ++c) {
    const __m512 correction = _mm512_set1_ps(corrections[c]);
    for (std::size_t v = 0; v < NV; ++v) acc[c][v] = _mm512_mul_ps(states[c]->acc[v], correction);
  }
  for (std::size_t j = 0; j < n; ++j) {
    const float* row = values + j * stride;
    for (std::size_t v = 0; v < NV; ++v) {
      const __m512 value = _mm512_loadu_ps(row + 16 * v);
      for (std::size_t c = 0; c < C; ++c)
        acc[c][v] = _mm512_fmadd_ps(_mm512_set1_ps(weights[c][j]), value, acc[c][v]);
    }
  }
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t v = 0; v < NV; ++v) states[c]->acc[v] = acc[c][v];
}

// A block's values for the queries of a pass still attending (query a owns owns[a] of the block's
// keys, weights[a] and corrections[a] from fold_scores): queries that own the same number of keys
// (every query but a prompt's last few, at its causal edge) are summed kValueChunk at a time.
template <std::size_t NV>
inline void accumulate_block(const float* values, std::size_t stride, std::size_t n_active,
                             const std::size_t* owns, const float (*weights)[kKeyBlock],
                             const float* corrections, QueryState* const* states) {
  constexpr std::size_t kChunk = kValueChunk<NV>;
  std::size_t a = 0;
  while (a < n_active) {
    std::size_t count = 1;
    while (count < kChunk && a + count < n_active && owns[a + count] == owns[a]) ++count;
    const float* chunk_weights[kChunk];
    for (std::size_t c = 0; c < count; ++c) chunk_weights[c] = weights[a + c];
    with_count<kChunk>(count, [&]<std::size_t C>() {
      accumulate_queries<NV, C>(values, stride, owns[a], chunk_weights, corrections + a,
                                states + a);
    });
    a += count;
  }
}

// The queries of a pass that still attend at key block j0 (query r over keys [0, key_counts[r]),
// or every query over n_keys when key_counts is null): their indices in `active`, and the count.
inline std::size_t active_queries(std::size_t n_queries, const std::size_t* key_counts,
                                  std::size_t n_keys, std::size_t j0, std::size_t* active) {
  std::size_t n_active = 0;
  for (std::size_t r = 0; r < n_queries; ++r) {
    if (j0 < (key_counts ? key_counts[r] : n_keys)) active[n_active++] = r;
  }
  return n_active;
}

// The keys a pass of `count` queries reads: its own largest count (a prompt's earlier passes stop
// before the later tokens' keys), or n_keys when every query attends over all of them.
inline std::size_t pass_keys(const std::size_t* key_counts, std::size_t count, std::size_t n_keys) {
  return key_counts ? *std::max_element(key_counts, key_counts + count) : n_keys;
}

// The block at j0 for the active queries, given their raw dot products (dots[a] lane j: active
// query a . key j): every query's softmax first, then every query's values. The softmax of one
// query (a horizontal max, then exp) is a chain of dependent steps, which the next queries'
// overlap.
template <std::size_t NV>
inline void fold_and_accumulate(const __m512* dots, const std::size_t* active, std::size_t n_active,
                                const std::size_t* key_counts, std::size_t n_keys, std::size_t j0,
                                float scale, const float* values, std::size_t stride,
                                QueryState* states) {
  alignas(64) float weights[kMaxPass][kKeyBlock];
  float corrections[kMaxPass];
  std::size_t owns[kMaxPass];
  QueryState* active_states[kMaxPass];
  for (std::size_t a = 0; a < n_active; ++a) {
    const std::size_t r = active[a];
    owns[a] = std::min(kKeyBlock, (key_counts ? key_counts[r] : n_keys) - j0);
    active_states[a] = &states[r];
    _mm512_store_ps(weights[a], fold_scores(dots[a], owns[a], scale, states[r], corrections[a]));
  }
  accumulate_block<NV>(values, stride, n_active, owns, weights, corrections, active_states);
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
