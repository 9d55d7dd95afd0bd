// Attention over a bf16 cache with AVX512-BF16 (vdpbf16ps: two bf16 products per f32 lane per
// instruction), for CPUs that have it (Cooper Lake, Sapphire Rapids on; Zen 4 on): half the
// multiply instructions of the f32 kernel in attention.cpp, and no horizontal sums.
//
// Each block of 16 keys is laid out once per pass, for every query of the pass: keys transposed
// to [dim pair][key], so one instruction adds a dim pair's products to all 16 keys' scores; values
// interleaved by key pairs to [key pair][dim][2], so one instruction adds two keys' weighted
// values to 16 output dims. Queries and softmax weights are rounded to bf16 for the products
// (sums stay f32), so results are within bf16 rounding of the f32 kernel over the same cache,
// not equal to them. A query's arithmetic does not depend on the other queries of its pass, so
// a prompt's tokens get the same bits as one-token decoding.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include "kernels/arch/x86/avx512/attention_bf16.hpp"
#include "kernels/arch/x86/avx512/transpose16.hpp"

namespace llama3::kernels::avx512 {
namespace {

constexpr std::size_t kKeyBlock = kAttentionKeyBlock;  // 16 keys: one score vector
// Keys per softmax step: two score vectors share one horizontal max, one rescale of the
// accumulator and one pass over its registers. Paged blocks must hold a multiple of this.
constexpr std::size_t kStep = kBf16AttentionKeyStep;
constexpr std::size_t kMaxVectors = 16;  // head_dim <= 256, 16 dims a vector
constexpr std::size_t kMaxGroup = 32;    // queries per pass: each step's layout serves them all
constexpr std::size_t kScoreChunk = 8;   // queries scored together

static_assert(kKeyBlock == 16, "the layouts below hold 16 keys per vector");
static_assert(kStep == 2 * kKeyBlock);

// keys [n <= 16 rows of 2 * n_pairs bf16] -> out [n_pairs][16 keys] of bf16 pairs; rows past n
// are zero.
void lay_out_keys(const Bf16* keys, std::size_t stride, std::size_t n, std::size_t n_pairs,
                  __m512i* out) {
  for (std::size_t first = 0; first < n_pairs; first += 16) {
    const std::size_t width = std::min<std::size_t>(16, n_pairs - first);
    const auto columns = static_cast<__mmask16>(width == 16 ? 0xFFFF : (1u << width) - 1u);
    __m512i rows[16];
    for (std::size_t j = 0; j < 16; ++j) {
      rows[j] = j < n ? _mm512_maskz_loadu_epi32(columns, keys + j * stride + 2 * first)
                      : _mm512_setzero_si512();
    }
    transpose16(rows);
    for (std::size_t p = 0; p < width; ++p) _mm512_store_si512(out + first + p, rows[p]);
  }
}

// values [n <= 32 rows of 16 * n_vectors bf16] -> out [(n + 1) / 2 key pairs][n_vectors]: vector
// (m, v) holds dims 16v..16v+15 of keys 2m and 2m+1, interleaved. A row past n is zero, so a
// weight of zero meets a finite value.
void lay_out_values(const Bf16* values, std::size_t stride, std::size_t n, std::size_t n_vectors,
                    __m512i* out) {
  const __m512i interleave =
      _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                       21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (std::size_t m = 0; 2 * m < n; ++m) {
    const std::size_t a = 2 * m, b = 2 * m + 1;
    for (std::size_t v = 0; v < n_vectors; ++v) {
      const __m256i low =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(values + a * stride + 16 * v));
      const __m256i high =
          b < n ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(values + b * stride + 16 * v))
                : _mm256_setzero_si256();
      const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
      _mm512_store_si512(out + m * n_vectors + v, _mm512_permutexvar_epi16(interleave, both));
    }
  }
}

// One query's [head_dim] as bf16 pairs: out[i] holds dims 2i (low half) and 2i + 1.
void query_pairs(const float* query, std::size_t head_dim, std::uint32_t* out) {
  std::size_t d = 0;
  for (; d + 32 <= head_dim; d += 32) {
    const __m512bh both =
        _mm512_cvtne2ps_pbh(_mm512_loadu_ps(query + d + 16), _mm512_loadu_ps(query + d));
    _mm512_storeu_si512(out + d / 2, (__m512i)both);
  }
  if (d < head_dim) {  // 16 dims left
    const __m256bh half = _mm512_cvtneps_pbh(_mm512_loadu_ps(query + d));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + d / 2), (__m256i)half);
  }
}

inline __m512 dot_pairs(__m512 acc, __m512i a, __m512i b) {
  return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
}

// scores[r] lane j = query r . key j (unscaled) for C queries over a laid-out key block; two
// accumulators per query (even and odd dim pairs) keep enough multiply chains in flight.
template <std::size_t C>
void score_queries(const __m512i* keys, std::size_t n_pairs, const std::uint32_t* const* queries,
                   __m512* scores) {
  __m512 even[C], odd[C];
  for (std::size_t r = 0; r < C; ++r) even[r] = odd[r] = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 1 < n_pairs; i += 2) {
    const __m512i k0 = _mm512_load_si512(keys + i);
    const __m512i k1 = _mm512_load_si512(keys + i + 1);
    for (std::size_t r = 0; r < C; ++r) {
      even[r] = dot_pairs(even[r], k0, _mm512_set1_epi32(static_cast<int>(queries[r][i])));
      odd[r] = dot_pairs(odd[r], k1, _mm512_set1_epi32(static_cast<int>(queries[r][i + 1])));
    }
  }
  if (i < n_pairs) {
    const __m512i k0 = _mm512_load_si512(keys + i);
    for (std::size_t r = 0; r < C; ++r)
      even[r] = dot_pairs(even[r], k0, _mm512_set1_epi32(static_cast<int>(queries[r][i])));
  }
  for (std::size_t r = 0; r < C; ++r) scores[r] = _mm512_add_ps(even[r], odd[r]);
}

// score_queries for 1 <= count <= kScoreChunk queries.
void score_chunk(std::size_t count, const __m512i* keys, std::size_t n_pairs,
                 const std::uint32_t* const* queries, __m512* scores) {
  static_assert(kScoreChunk == 8);
  switch (count) {
    case 1:
      return score_queries<1>(keys, n_pairs, queries, scores);
    case 2:
      return score_queries<2>(keys, n_pairs, queries, scores);
    case 3:
      return score_queries<3>(keys, n_pairs, queries, scores);
    case 4:
      return score_queries<4>(keys, n_pairs, queries, scores);
    case 5:
      return score_queries<5>(keys, n_pairs, queries, scores);
    case 6:
      return score_queries<6>(keys, n_pairs, queries, scores);
    case 7:
      return score_queries<7>(keys, n_pairs, queries, scores);
    default:
      return score_queries<8>(keys, n_pairs, queries, scores);
  }
}

struct alignas(64) QueryState {
  __m512 acc[kMaxVectors];  // unnormalised output, [head_dim]
  __m512 denominator;       // per-lane partial sums of the weights
  float running_max;
};

// 2^x for x <= 0 (-inf gives 0): x = n + r with |r| <= 1/2, 2^r by its Taylor polynomial of
// degree 5 (relative error under 3e-6, far below the bf16 rounding the weights then get), 2^n by
// vscalefps. The softmax runs in base 2: scores are scaled by log2(e) with the head's scale.
inline __m512 exp2_nonpositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-150.0f));  // below the smallest denormal; also takes -inf
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_sub_ps(x, n);
  __m512 p = _mm512_set1_ps(1.3333558146428443e-3f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(9.6181291076284772e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.5504108664821580e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(2.4022650695910071e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(6.9314718055994531e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// Folds a step's raw dot products (keys 0-15 in `low`, 16-31 in `high`; lanes past `own` masked)
// into the query's softmax state; returns the step's weights and sets the factor the accumulator
// must be scaled by first.
inline void softmax_step(__m512 low, __m512 high, std::size_t own, float scale_log2e,
                         QueryState& state, __m512& weights_low, __m512& weights_high,
                         float& correction) {
  const auto mask = [](std::size_t n) {
    return static_cast<__mmask16>(n >= kKeyBlock ? 0xFFFF : (1u << n) - 1u);
  };
  const __m512 minus_infinity = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  const __m512 s = _mm512_set1_ps(scale_log2e);
  const __m512 scores_low = _mm512_mask_blend_ps(mask(own), minus_infinity, _mm512_mul_ps(low, s));
  const __m512 scores_high =
      own > kKeyBlock
          ? _mm512_mask_blend_ps(mask(own - kKeyBlock), minus_infinity, _mm512_mul_ps(high, s))
          : minus_infinity;
  const __m512 lane_max = _mm512_max_ps(scores_low, scores_high);
  correction = 1.0f;
  // Most steps raise no score above the running max: one compare instead of a horizontal max.
  if (_mm512_cmp_ps_mask(lane_max, _mm512_set1_ps(state.running_max), _CMP_GT_OQ) != 0) {
    const float step_max = _mm512_reduce_max_ps(lane_max);
    correction = std::exp2(state.running_max - step_max);  // 0 on the first step
    state.denominator = _mm512_mul_ps(state.denominator, _mm512_set1_ps(correction));
    state.running_max = step_max;
  }
  const __m512 max = _mm512_set1_ps(state.running_max);
  weights_low = exp2_nonpositive(_mm512_sub_ps(scores_low, max));
  weights_high =
      own > kKeyBlock ? exp2_nonpositive(_mm512_sub_ps(scores_high, max)) : _mm512_setzero_ps();
  state.denominator = _mm512_add_ps(_mm512_add_ps(state.denominator, weights_low), weights_high);
}

// One query's step of weighted values: the rescale factor, its weights as bf16 pairs, and how
// many key pairs it covers.
struct StepWeights {
  alignas(64) std::uint32_t pairs[kStep / 2];
  float correction;
  std::size_t n_pairs;
};

// acc = acc * correction + sum over key pairs m < n_pairs of the pair's bf16 weights times its
// values, in that order, for Q queries at once, which share each value vector's load. A query's
// arithmetic is the same whatever Q, so it gets the same bits in any pass.
template <std::size_t NV, std::size_t Q>
void accumulate_values(const __m512i* values, const StepWeights* const (&steps)[Q],
                       QueryState* const (&states)[Q]) {
  __m512 acc[Q][NV];
  for (std::size_t q = 0; q < Q; ++q) {
    const __m512 c = _mm512_set1_ps(steps[q]->correction);
    for (std::size_t v = 0; v < NV; ++v) {
      acc[q][v] =
          steps[q]->correction == 1.0f ? states[q]->acc[v] : _mm512_mul_ps(states[q]->acc[v], c);
    }
  }
  std::size_t shared = steps[0]->n_pairs;
  for (std::size_t q = 1; q < Q; ++q) shared = std::min(shared, steps[q]->n_pairs);
  for (std::size_t m = 0; m < shared; ++m) {
    __m512i w[Q];
    for (std::size_t q = 0; q < Q; ++q)
      w[q] = _mm512_set1_epi32(static_cast<int>(steps[q]->pairs[m]));
    for (std::size_t v = 0; v < NV; ++v) {
      const __m512i x = _mm512_load_si512(values + m * NV + v);
      for (std::size_t q = 0; q < Q; ++q) acc[q][v] = dot_pairs(acc[q][v], x, w[q]);
    }
  }
  for (std::size_t q = 0; q < Q; ++q) {
    for (std::size_t m = shared; m < steps[q]->n_pairs; ++m) {
      const __m512i w = _mm512_set1_epi32(static_cast<int>(steps[q]->pairs[m]));
      for (std::size_t v = 0; v < NV; ++v)
        acc[q][v] = dot_pairs(acc[q][v], _mm512_load_si512(values + m * NV + v), w);
    }
    for (std::size_t v = 0; v < NV; ++v) states[q]->acc[v] = acc[q][v];
  }
}

// Query r over keys [0, key_counts[r]) (every query over n_keys when key_counts is null).
template <std::size_t NV>
void attend_bf16_fixed(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                       const KvBlocks<Bf16>& kv, std::size_t n_keys, float scale, float* out) {
  constexpr std::size_t head_dim = 16 * NV;
  constexpr std::size_t n_pairs = head_dim / 2;
  QueryState states[kMaxGroup];
  alignas(64) std::uint32_t query_bits[kMaxGroup][n_pairs];
  for (std::size_t r = 0; r < n_queries; ++r) {
    for (std::size_t v = 0; v < NV; ++v) states[r].acc[v] = _mm512_setzero_ps();
    states[r].denominator = _mm512_setzero_ps();
    states[r].running_max = -std::numeric_limits<float>::infinity();
    query_pairs(queries + r * head_dim, head_dim, query_bits[r]);
  }
  const float scale_log2e = scale * 1.4426950408889634f;
  alignas(64) __m512i key_block[2][n_pairs];  // keys 0-15 and 16-31 of the step
  alignas(64) __m512i value_block[kStep / 2 * NV];
  for (std::size_t j0 = 0; j0 < n_keys; j0 += kStep) {
    const std::size_t n = std::min(kStep, n_keys - j0);
    const std::size_t halves = n > kKeyBlock ? 2 : 1;
    // The step's keys lie inside one KV block (kv_blocks.hpp, kBf16AttentionKeyStep).
    const Bf16* keys = kv.key_row(j0);
    for (std::size_t h = 0; h < halves; ++h) {
      lay_out_keys(keys + h * kKeyBlock * kv.stride, kv.stride,
                   std::min(kKeyBlock, n - h * kKeyBlock), n_pairs, key_block[h]);
    }
    lay_out_values(kv.value_row(j0), kv.stride, n, NV, value_block);
    std::size_t active[kMaxGroup];
    std::size_t n_active = 0;
    for (std::size_t r = 0; r < n_queries; ++r) {
      if (j0 < (key_counts ? key_counts[r] : n_keys)) active[n_active++] = r;
    }
    __m512 dots[2][kMaxGroup];
    if (halves == 1) std::fill_n(dots[1], n_active, _mm512_setzero_ps());  // masked anyway
    for (std::size_t first = 0; first < n_active; first += kScoreChunk) {
      const std::size_t count = std::min(kScoreChunk, n_active - first);
      const std::uint32_t* chunk[kScoreChunk];
      for (std::size_t c = 0; c < count; ++c) chunk[c] = query_bits[active[first + c]];
      for (std::size_t h = 0; h < halves; ++h)
        score_chunk(count, key_block[h], n_pairs, chunk, dots[h] + first);
    }
    StepWeights steps[kMaxGroup];
    for (std::size_t a = 0; a < n_active; ++a) {
      const std::size_t r = active[a];
      const std::size_t limit = key_counts ? key_counts[r] : n_keys;
      const std::size_t own = std::min(kStep, limit - j0);
      __m512 weights_low, weights_high;
      softmax_step(dots[0][a], dots[1][a], own, scale_log2e, states[r], weights_low, weights_high,
                   steps[a].correction);
      _mm512_store_si512(steps[a].pairs, (__m512i)_mm512_cvtne2ps_pbh(weights_high, weights_low));
      steps[a].n_pairs = (own + 1) / 2;
    }
    // Two queries at a time share the value loads while their accumulators fit in registers.
    std::size_t a = 0;
    if constexpr (NV <= 8) {
      for (; a + 1 < n_active; a += 2) {
        accumulate_values<NV, 2>(value_block, {&steps[a], &steps[a + 1]},
                                 {&states[active[a]], &states[active[a + 1]]});
      }
    }
    for (; a < n_active; ++a) {
      accumulate_values<NV, 1>(value_block, {&steps[a]}, {&states[active[a]]});
    }
  }
  for (std::size_t r = 0; r < n_queries; ++r) {
    const float total = _mm512_reduce_add_ps(states[r].denominator);
    const __m512 inverse = _mm512_set1_ps(total > 0.0f ? 1.0f / total : 0.0f);
    for (std::size_t v = 0; v < NV; ++v) {
      _mm512_storeu_ps(out + r * head_dim + 16 * v, _mm512_mul_ps(states[r].acc[v], inverse));
    }
  }
}

using PassKernel = void (*)(const float*, std::size_t, const std::size_t*, const KvBlocks<Bf16>&,
                            std::size_t, float, float*);

template <std::size_t... I>
constexpr std::array<PassKernel, sizeof...(I)> pass_kernels(std::index_sequence<I...>) {
  return {&attend_bf16_fixed<I + 1>...};
}

void attend_bf16_any(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                     const KvBlocks<Bf16>& kv, std::size_t n_keys, std::size_t head_dim,
                     float scale, float* out) {
  static constexpr auto kernels = pass_kernels(std::make_index_sequence<kMaxVectors>());
  const PassKernel kernel = kernels[head_dim / 16 - 1];
  for (std::size_t first = 0; first < n_queries; first += kMaxGroup) {
    kernel(queries + first * head_dim, std::min(kMaxGroup, n_queries - first),
           key_counts ? key_counts + first : nullptr, kv, n_keys, scale, out + first * head_dim);
  }
}

}  // namespace

void attend_group_bf16_dot(const float* queries, std::size_t n_queries, const KvBlocks<Bf16>& kv,
                           std::size_t n_keys, std::size_t head_dim, float scale, float* out) {
  attend_bf16_any(queries, n_queries, nullptr, kv, n_keys, head_dim, scale, out);
}

void attend_tokens_bf16_dot(const float* queries, std::size_t n_queries,
                            const std::size_t* key_counts, const KvBlocks<Bf16>& kv,
                            std::size_t n_keys, std::size_t head_dim, float scale, float* out) {
  attend_bf16_any(queries, n_queries, key_counts, kv, n_keys, head_dim, scale, out);
}

}  // namespace llama3::kernels::avx512
