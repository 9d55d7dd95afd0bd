// AVX-512 online-softmax attention of a GQA group over an f16 or f32 cache (q8_0 has its own,
// attention_q8_0_int.cpp): head_dim a multiple of 16, at most 256. Keys go 16 at a time; each block
// of 16 keys and values is read from memory once and then, from L1, by every query of the pass.
// The block's keys are laid out once, transposed to [dim][key], so a query's scores for all 16
// keys are one vector of multiply-adds over the dims with no horizontal sums, and four queries
// share each load. Values are summed several queries at a time too (online_softmax.hpp).
// One instantiation per head size, so the accumulators live in registers.
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
#include "kernels/arch/x86/avx512/transpose16.hpp"

namespace llama3::kernels::avx512 {
namespace {

using softmax::kKeyBlock;
using softmax::kMaxPass;
using softmax::kMaxVectors;
using softmax::QueryState;

constexpr std::size_t kScoreChunk = 4;  // queries scored together

static_assert(kKeyBlock == 16, "the key layout holds 16 keys per vector");

inline __m512 load16(const std::uint16_t* at) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)));
}
inline __m512 load16(const float* at) {
  return _mm512_loadu_ps(at);
}

// dims[d] lane j = key j's dim d, for the n keys of a block (zero past n).
template <std::size_t NV, typename Element>
void lay_out_keys(const Element* keys, std::size_t stride, std::size_t n, __m512* dims) {
  for (std::size_t v = 0; v < NV; ++v) {
    __m512i rows[16];
    for (std::size_t j = 0; j < 16; ++j) {
      rows[j] =
          j < n ? _mm512_castps_si512(load16(keys + j * stride + 16 * v)) : _mm512_setzero_si512();
    }
    transpose16(rows);
    for (std::size_t d = 0; d < 16; ++d) dims[16 * v + d] = _mm512_castsi512_ps(rows[d]);
  }
}

// dots[c] lane j = query c . key j for C queries over a laid-out block. Even and odd dims go to
// separate sums, added at the end: a query's order of operations does not depend on C.
template <std::size_t NV, std::size_t C>
void score_queries(const __m512* dims, const float* const* queries, __m512* dots) {
  __m512 even[C], odd[C];
  for (std::size_t c = 0; c < C; ++c) even[c] = odd[c] = _mm512_setzero_ps();
  for (std::size_t d = 0; d < 16 * NV; d += 2) {
    for (std::size_t c = 0; c < C; ++c) {
      even[c] = _mm512_fmadd_ps(_mm512_set1_ps(queries[c][d]), dims[d], even[c]);
      odd[c] = _mm512_fmadd_ps(_mm512_set1_ps(queries[c][d + 1]), dims[d + 1], odd[c]);
    }
  }
  for (std::size_t c = 0; c < C; ++c) dots[c] = _mm512_add_ps(even[c], odd[c]);
}

// Query r attends over keys [0, key_counts[r]) (every query over n_keys when key_counts is null;
// else n_keys is the largest count). A query's steps depend only on its own count, so it gets the
// same bits in a call of its own: several tokens of a prompt share one pass over the keys, each
// block laid out once for all of them, and agree with one-token decoding.
template <std::size_t NV, typename Element>
void attend_group_fixed(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                        const KvBlocks<Element>& kv, std::size_t n_keys, float scale, float* out) {
  constexpr std::size_t head_dim = 16 * NV;
  QueryState states[kMaxPass];
  for (std::size_t r = 0; r < n_queries; ++r) softmax::start<NV>(states[r]);
  __m512 key_dims[head_dim];
  // An f16 block's values are widened once, here, for all the pass's queries: [kKeyBlock,
  // head_dim].
  alignas(64) float wide_values[kKeyBlock * head_dim];
  for (std::size_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
    const std::size_t n = std::min(kKeyBlock, n_keys - j0);
    // The group of kKeyBlock keys lies inside one KV block (kv_blocks.hpp).
    lay_out_keys<NV>(kv.key_row(j0), kv.stride, n, key_dims);
    const Element* values = kv.value_row(j0);
    const float* block_values;
    std::size_t block_stride;
    if constexpr (std::is_same_v<Element, float>) {
      block_values = values, block_stride = kv.stride;
    } else {
      for (std::size_t j = 0; j < n; ++j) {
        for (std::size_t v = 0; v < NV; ++v)
          _mm512_store_ps(wide_values + j * head_dim + 16 * v,
                          load16(values + j * kv.stride + 16 * v));
      }
      block_values = wide_values, block_stride = head_dim;
    }
    std::size_t active[kMaxPass];
    const std::size_t n_active = softmax::active_queries(n_queries, key_counts, n_keys, j0, active);
    __m512 dots[kMaxPass];
    for (std::size_t first = 0; first < n_active; first += kScoreChunk) {
      const std::size_t count = std::min(kScoreChunk, n_active - first);
      const float* chunk[kScoreChunk];
      for (std::size_t c = 0; c < count; ++c) chunk[c] = queries + active[first + c] * head_dim;
      softmax::with_count<kScoreChunk>(
          count, [&]<std::size_t C>() { score_queries<NV, C>(key_dims, chunk, dots + first); });
    }
    softmax::fold_and_accumulate<NV>(dots, active, n_active, key_counts, n_keys, j0, scale,
                                     block_values, block_stride, states);
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
  for (std::size_t first = 0; first < n_queries; first += kMaxPass) {
    const std::size_t count = std::min(kMaxPass, n_queries - first);
    const std::size_t* counts = key_counts ? key_counts + first : nullptr;
    kernel(queries + first * head_dim, count, counts, kv, softmax::pass_keys(counts, count, n_keys),
           scale, out + first * head_dim);
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
