// AVX-512 online-softmax attention of a GQA group over an f16 or f32 cache (q8_0 has its own,
// attention_q8_0_int.cpp): head_dim a multiple of 16, at most 256. Keys go 16 at a time; each block
// of 16 keys and values is read from memory once and then, from L1, by every query of the group.
// One instantiation per head size, so a query and its output accumulator live in registers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/x86/avx512/online_softmax.hpp"

namespace llama3::kernels::avx512 {
namespace {

using softmax::kKeyBlock;
using softmax::kMaxGroup;
using softmax::kMaxVectors;
using softmax::QueryState;

inline __m512 load16(const std::uint16_t* at) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)));
}
inline __m512 load16(const float* at) {
  return _mm512_loadu_ps(at);
}

// Lane j of the result = the sum of the 16 lanes of v[j]: a transposing tree of adds, ~3 vector
// ops per vector instead of the ~10 of a separate horizontal sum each.
inline __m512 sum_each(const __m512 (&v)[16]) {
  __m512 pairs[8];  // per 128-bit lane: v[2i] in slots 0 and 2, v[2i+1] in 1 and 3
  for (int i = 0; i < 8; ++i) {
    pairs[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                             _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  }
  __m512 quads[4];  // per 128-bit lane: partial sums of v[4i..4i+3], in order
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(pairs[2 * i]);
    const __m512d b = _mm512_castps_pd(pairs[2 * i + 1]);
    quads[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  __m512 octs[2];  // 128-bit lanes: v[8i..8i+3] (two partial sums), then v[8i+4..8i+7] (two)
  for (int i = 0; i < 2; ++i) {
    octs[i] = _mm512_add_ps(_mm512_shuffle_f32x4(quads[2 * i], quads[2 * i + 1], 0x88),
                            _mm512_shuffle_f32x4(quads[2 * i], quads[2 * i + 1], 0xDD));
  }
  return _mm512_add_ps(_mm512_shuffle_f32x4(octs[0], octs[1], 0x88),
                       _mm512_shuffle_f32x4(octs[0], octs[1], 0xDD));
}

// Scores keys [j0, j0 + n) for one query (scaled, masked past n) and folds them into its state:
// returns the block's softmax weights and sets `correction`, the factor the accumulator must be
// scaled by before they are added.
template <std::size_t NV, typename Element>
__m512 score_block(const float* query, const Element* keys, std::size_t stride, std::size_t n,
                   float scale, QueryState& state, float& correction) {
  __m512 q[NV];
  for (std::size_t v = 0; v < NV; ++v) q[v] = _mm512_loadu_ps(query + 16 * v);
  __m512 dots[kKeyBlock];
  for (std::size_t j = 0; j < kKeyBlock; ++j) {
    dots[j] = _mm512_setzero_ps();
    if (j >= n) continue;
    const Element* key = keys + j * stride;
    for (std::size_t v = 0; v < NV; ++v)
      dots[j] = _mm512_fmadd_ps(q[v], load16(key + 16 * v), dots[j]);
  }
  return softmax::fold_scores(sum_each(dots), n, scale, state, correction);
}

// Query r attends over keys [0, key_counts[r]) (every query over n_keys when key_counts is null;
// else n_keys is the largest count). A query's steps depend only on its own count, so it gets the
// same bits in a call of its own: several tokens of a prompt share one pass over the keys, each
// block widened once for all of them, and agree with one-token decoding.
template <std::size_t NV, typename Element>
void attend_group_fixed(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                        const KvBlocks<Element>& kv, std::size_t n_keys, float scale, float* out) {
  constexpr std::size_t head_dim = 16 * NV;
  QueryState states[kMaxGroup];
  for (std::size_t r = 0; r < n_queries; ++r) softmax::start<NV>(states[r]);
  alignas(64) float weights[kMaxGroup][kKeyBlock];
  float corrections[kMaxGroup];
  std::size_t owns[kMaxGroup];
  // An f16 block is widened once, here, for all the group's queries: [kKeyBlock, head_dim]
  // each.
  alignas(64) float wide_keys[kKeyBlock * head_dim];
  alignas(64) float wide_values[kKeyBlock * head_dim];
  for (std::size_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
    const std::size_t n = std::min(kKeyBlock, n_keys - j0);
    const float* block_keys;
    const float* block_values;
    std::size_t block_stride;
    // The group of kKeyBlock keys lies inside one KV block (kv_blocks.hpp).
    const Element* keys = kv.key_row(j0);
    const Element* values = kv.value_row(j0);
    const std::size_t stride = kv.stride;
    if constexpr (std::is_same_v<Element, float>) {
      block_keys = keys, block_values = values, block_stride = stride;
    } else {
      for (std::size_t j = 0; j < n; ++j) {
        for (std::size_t v = 0; v < NV; ++v) {
          _mm512_store_ps(wide_keys + j * head_dim + 16 * v, load16(keys + j * stride + 16 * v));
          _mm512_store_ps(wide_values + j * head_dim + 16 * v,
                          load16(values + j * stride + 16 * v));
        }
      }
      block_keys = wide_keys, block_values = wide_values, block_stride = head_dim;
    }
    // Every query's scores first, then every query's values: the softmax of one query (a
    // horizontal max, then exp) is a chain of dependent steps, which the scores of the next
    // queries overlap.
    for (std::size_t r = 0; r < n_queries; ++r) {
      const std::size_t limit = key_counts ? key_counts[r] : n_keys;
      owns[r] = j0 < limit ? std::min(kKeyBlock, limit - j0) : 0;
      if (owns[r] == 0) continue;
      _mm512_store_ps(weights[r], score_block<NV>(queries + r * head_dim, block_keys, block_stride,
                                                  owns[r], scale, states[r], corrections[r]));
    }
    for (std::size_t r = 0; r < n_queries; ++r) {
      if (owns[r] == 0) continue;
      softmax::accumulate_block<NV>(block_values, block_stride, owns[r], weights[r], corrections[r],
                                    states[r]);
    }
  }
  for (std::size_t r = 0; r < n_queries; ++r) softmax::finish<NV>(states[r], out + r * head_dim);
}

template <typename Element>
using GroupKernel = void (*)(const float*, std::size_t, const std::size_t*,
                             const KvBlocks<Element>&, std::size_t, float, float*);

// kernels[NV - 1] handles head_dim = 16 * NV.
template <typename Element, std::size_t... I>
constexpr std::array<GroupKernel<Element>, sizeof...(I)> fixed_kernels(std::index_sequence<I...>) {
  return {&attend_group_fixed<I + 1, Element>...};
}

template <typename Element>
void attend_group_any(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                      const KvBlocks<Element>& kv, std::size_t n_keys, std::size_t head_dim,
                      float scale, float* out) {
  static constexpr auto kernels = fixed_kernels<Element>(std::make_index_sequence<kMaxVectors>());
  const GroupKernel<Element> kernel = kernels[head_dim / 16 - 1];
  for (std::size_t first = 0; first < n_queries; first += kMaxGroup) {
    kernel(queries + first * head_dim, std::min(kMaxGroup, n_queries - first),
           key_counts ? key_counts + first : nullptr, kv, n_keys, scale, out + first * head_dim);
  }
}

}  // namespace

void attend_group_f16(const float* queries, std::size_t n_queries,
                      const KvBlocks<std::uint16_t>& kv, std::size_t n_keys, std::size_t head_dim,
                      float scale, float* out) {
  attend_group_any(queries, n_queries, nullptr, kv, n_keys, head_dim, scale, out);
}

void attend_group_f32(const float* queries, std::size_t n_queries, const KvBlocks<float>& kv,
                      std::size_t n_keys, std::size_t head_dim, float scale, float* out) {
  attend_group_any(queries, n_queries, nullptr, kv, n_keys, head_dim, scale, out);
}

void attend_tokens_f16(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                       const KvBlocks<std::uint16_t>& kv, std::size_t n_keys, std::size_t head_dim,
                       float scale, float* out) {
  attend_group_any(queries, n_queries, key_counts, kv, n_keys, head_dim, scale, out);
}

void attend_tokens_f32(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                       const KvBlocks<float>& kv, std::size_t n_keys, std::size_t head_dim,
                       float scale, float* out) {
  attend_group_any(queries, n_queries, key_counts, kv, n_keys, head_dim, scale, out);
}

}  // namespace llama3::kernels::avx512
