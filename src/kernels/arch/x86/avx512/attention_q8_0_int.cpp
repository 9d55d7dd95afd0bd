// Attention over a q8_0 cache whose scores are integer dot products (AVX512-VNNI vpdpbusd: four
// 8-bit products summed into each 32-bit lane per instruction). Each query is rounded to q8_0
// once per call, as llama.cpp's CPU attention does for a q8_0 key cache, so a score multiplies
// the keys' stored quants by the query's without widening either to f32: a quarter of the
// multiply instructions of the f32 kernel (attention.cpp), and no horizontal sums.
//
// Each block of 16 keys is laid out once for every query of the pass: its quants transposed to
// [4-dim group][key], so one instruction adds a group's four products to all 16 keys' sums.
// vpdpbusd multiplies unsigned by signed bytes: the keys are stored shifted by 128 (quants of
// -127..127 become 1..255) and 128 times the query block's quant sum is taken off afterwards, so
// the integer sums are exact. A block's sum, scaled by the key's and the query's f16 scales, is
// therefore the dot product of the dequantized key with the q8_0-rounded query, to f32 rounding.
// Values are widened to f32 and summed as in attention.cpp. A query's arithmetic does not depend
// on the other queries of its pass, so a prompt's tokens get the same bits as one-token decoding.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/x86/avx512/online_softmax.hpp"
#include "kernels/arch/x86/avx512/transpose16.hpp"
#include "kernels/half_float.hpp"
#include "kernels/kv_q8_0.hpp"

namespace llama3::kernels::avx512 {
namespace {

using softmax::kKeyBlock;
using softmax::kMaxPass;
using softmax::kMaxVectors;
using softmax::QueryState;

constexpr std::size_t kMaxBlocks = kMaxVectors / 2;  // q8_0 blocks of a 256-dim row
constexpr std::size_t kScoreChunk = 4;               // queries scored together

static_assert(kKeyBlock == 16, "the key layout holds 16 keys per vector");

// One query rounded to q8_0: its quants as 4-byte groups, per block the f32 scale and the
// correction for the keys' shift, 128 times the block's quant sum.
struct QueryQuants {
  alignas(64) std::int32_t groups[8 * kMaxBlocks];
  float scales[kMaxBlocks];
  std::int32_t shift_sums[kMaxBlocks];
};

void quantize_query(const float* query, std::size_t head_dim, QueryQuants& out) {
  std::array<BlockQ8_0, kMaxBlocks> blocks;
  quantize_q8_0_row(query, head_dim, blocks.data());
  const std::size_t n_blocks = q8_0_row_blocks(head_dim);
  for (std::size_t b = 0; b < n_blocks; ++b) {
    std::memcpy(out.groups + 8 * b, blocks[b].qs.data(), sizeof(blocks[b].qs));
    out.scales[b] = f16_to_f32(blocks[b].d);
    std::int32_t sum = 0;
    for (const std::int8_t q : blocks[b].qs) sum += q;
    out.shift_sums[b] = 128 * sum;
  }
}

// A block of 16 keys laid out for scoring: group g of block b, lane j = key j's quants 4g..4g+3
// of that block plus 128 (keys past n: zero), and per block the keys' f32 scales (zero past n).
template <std::size_t NB>
struct KeyLayout {
  __m512i groups[8 * NB];
  __m512 scales[NB];
};

template <std::size_t NB>
void lay_out_keys(const BlockQ8_0* keys, std::size_t stride, std::size_t n, KeyLayout<NB>& out) {
  const __m512i shift = _mm512_set1_epi8(static_cast<char>(0x80));
  for (std::size_t b0 = 0; b0 < NB; b0 += 2) {
    const bool pair = b0 + 1 < NB;
    __m512i rows[16];
    for (std::size_t j = 0; j < 16; ++j) {
      if (j >= n) {
        rows[j] = _mm512_setzero_si512();
        continue;
      }
      const BlockQ8_0* row = keys + j * stride;
      const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[b0].qs.data()));
      const __m256i high =
          pair ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[b0 + 1].qs.data()))
               : _mm256_setzero_si256();
      rows[j] = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1), shift);
    }
    transpose16(rows);
    for (std::size_t g = 0; g < (pair ? 16u : 8u); ++g) out.groups[8 * b0 + g] = rows[g];
  }
  for (std::size_t b = 0; b < NB; ++b) {
    alignas(32) std::uint16_t bits[16] = {};
    for (std::size_t j = 0; j < n; ++j) bits[j] = keys[j * stride + b].d;
    out.scales[b] = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(bits)));
  }
}

// dots[c] lane j = query c . key j (unscaled) for C queries over a laid-out block.
template <std::size_t NB, std::size_t C>
void score_queries(const KeyLayout<NB>& keys, const QueryQuants* const* queries, __m512* dots) {
  __m512i sums[NB][C];
  for (std::size_t b = 0; b < NB; ++b)
    for (std::size_t c = 0; c < C; ++c) sums[b][c] = _mm512_setzero_si512();
  for (std::size_t b = 0; b < NB; ++b) {
    for (std::size_t g = 0; g < 8; ++g) {
      const __m512i k = keys.groups[8 * b + g];
      for (std::size_t c = 0; c < C; ++c) {
        sums[b][c] =
            _mm512_dpbusd_epi32(sums[b][c], k, _mm512_set1_epi32(queries[c]->groups[8 * b + g]));
      }
    }
  }
  for (std::size_t c = 0; c < C; ++c) {
    __m512 dot = _mm512_setzero_ps();
    for (std::size_t b = 0; b < NB; ++b) {
      const __m512i exact =
          _mm512_sub_epi32(sums[b][c], _mm512_set1_epi32(queries[c]->shift_sums[b]));
      dot = _mm512_fmadd_ps(_mm512_cvtepi32_ps(exact),
                            _mm512_mul_ps(keys.scales[b], _mm512_set1_ps(queries[c]->scales[b])),
                            dot);
    }
    dots[c] = dot;
  }
}

// Query r over keys [0, key_counts[r]) (every query over n_keys when key_counts is null).
template <std::size_t NV>
void attend_q8_0_int_fixed(const float* queries, std::size_t n_queries,
                           const std::size_t* key_counts, const KvBlocks<BlockQ8_0>& kv,
                           std::size_t n_keys, float scale, float* out) {
  constexpr std::size_t head_dim = 16 * NV;
  constexpr std::size_t NB = (NV + 1) / 2;  // q8_0 blocks per row; an odd NV pads the last
  QueryState states[kMaxPass];
  QueryQuants quants[kMaxPass];
  for (std::size_t r = 0; r < n_queries; ++r) {
    softmax::start<NV>(states[r]);
    quantize_query(queries + r * head_dim, head_dim, quants[r]);
  }
  KeyLayout<NB> key_block;
  alignas(64) float wide_values[kKeyBlock * head_dim];
  for (std::size_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
    const std::size_t n = std::min(kKeyBlock, n_keys - j0);
    // The group of kKeyBlock keys lies inside one KV block (kv_blocks.hpp).
    lay_out_keys<NB>(kv.key_row(j0), kv.stride, n, key_block);
    const BlockQ8_0* values = kv.value_row(j0);
    for (std::size_t j = 0; j < n; ++j)
      softmax::widen_q8_0<NV>(values + j * kv.stride, wide_values + j * head_dim);
    std::size_t active[kMaxPass];
    const std::size_t n_active = softmax::active_queries(n_queries, key_counts, n_keys, j0, active);
    __m512 dots[kMaxPass];
    for (std::size_t first = 0; first < n_active; first += kScoreChunk) {
      const std::size_t count = std::min(kScoreChunk, n_active - first);
      const QueryQuants* chunk[kScoreChunk];
      for (std::size_t c = 0; c < count; ++c) chunk[c] = &quants[active[first + c]];
      softmax::with_count<kScoreChunk>(
          count, [&]<std::size_t C>() { score_queries<NB, C>(key_block, chunk, dots + first); });
    }
    softmax::fold_and_accumulate<NV>(dots, active, n_active, key_counts, n_keys, j0, scale,
                                     wide_values, head_dim, states);
  }
  for (std::size_t r = 0; r < n_queries; ++r) softmax::finish<NV>(states[r], out + r * head_dim);
}

using PassKernel = void (*)(const float*, std::size_t, const std::size_t*,
                            const KvBlocks<BlockQ8_0>&, std::size_t, float, float*);

template <std::size_t... I>
constexpr std::array<PassKernel, sizeof...(I)> pass_kernels(std::index_sequence<I...>) {
  return {&attend_q8_0_int_fixed<I + 1>...};
}

void attend_q8_0_int_any(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                         const KvBlocks<BlockQ8_0>& kv, std::size_t n_keys, std::size_t head_dim,
                         float scale, float* out) {
  static constexpr auto kernels = pass_kernels(std::make_index_sequence<kMaxVectors>());
  const PassKernel kernel = kernels[head_dim / 16 - 1];
  for (std::size_t first = 0; first < n_queries; first += kMaxPass) {
    const std::size_t count = std::min(kMaxPass, n_queries - first);
    const std::size_t* counts = key_counts ? key_counts + first : nullptr;
    kernel(queries + first * head_dim, count, counts, kv, softmax::pass_keys(counts, count, n_keys),
           scale, out + first * head_dim);
  }
}

}  // namespace

void attend_group_q8_0(const float* queries, std::size_t n_queries, const KvBlocks<BlockQ8_0>& kv,
                       std::size_t n_keys, std::size_t head_dim, float scale, float* out) {
  attend_q8_0_int_any(queries, n_queries, nullptr, kv, n_keys, head_dim, scale, out);
}

void attend_tokens_q8_0(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                        const KvBlocks<BlockQ8_0>& kv, std::size_t n_keys, std::size_t head_dim,
                        float scale, float* out) {
  attend_q8_0_int_any(queries, n_queries, key_counts, kv, n_keys, head_dim, scale, out);
}

}  // namespace llama3::kernels::avx512
