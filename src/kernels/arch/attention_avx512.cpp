// AVX-512 online-softmax attention over an f16 cache: head_dim a multiple of 16, at most 256, so
// the query and the output accumulator live in registers while keys and values stream past.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/arch/exp_avx512.hpp"
#include "kernels/attention.hpp"

namespace llama3::kernels::avx512 {
namespace {

constexpr std::size_t kMaxVectors = 16;  // 256 / 16
constexpr std::size_t kKeyBlock = 16;    // keys per softmax block: one vector of scores

inline __m512 load_f16(const std::uint16_t* at) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)));
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

}  // namespace

void attend_head_f16(const float* query, const std::uint16_t* keys, const std::uint16_t* values,
                     std::size_t stride, std::size_t n_keys, std::size_t head_dim, float scale,
                     float* out) {
  const std::size_t n_vectors = head_dim / 16;
  __m512 q[kMaxVectors];
  __m512 acc[kMaxVectors];
  for (std::size_t v = 0; v < n_vectors; ++v) {
    q[v] = _mm512_mul_ps(_mm512_loadu_ps(query + 16 * v), _mm512_set1_ps(scale));
    acc[v] = _mm512_setzero_ps();
  }
  // Keys go 16 at a time: their scores make one vector, so the running maximum moves once per
  // block and the 16 softmax weights come from one vector exp instead of 16 scalar ones.
  float running_max = -std::numeric_limits<float>::infinity();
  __m512 denominator = _mm512_setzero_ps();  // per-lane partial sums of the weights
  alignas(64) float block[kKeyBlock];
  for (std::size_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
    const std::size_t n = std::min(kKeyBlock, n_keys - j0);
    __m512 dots[kKeyBlock];
    for (std::size_t j = 0; j < kKeyBlock; ++j) {
      dots[j] = _mm512_setzero_ps();
      if (j >= n) continue;
      const std::uint16_t* key = keys + (j0 + j) * stride;
      for (std::size_t v = 0; v < n_vectors; ++v) {
        dots[j] = _mm512_fmadd_ps(q[v], load_f16(key + 16 * v), dots[j]);
      }
    }
    const auto valid = static_cast<__mmask16>(n == kKeyBlock ? 0xFFFF : (1u << n) - 1u);
    const __m512 scores = _mm512_mask_blend_ps(
        valid, _mm512_set1_ps(-std::numeric_limits<float>::infinity()), sum_each(dots));
    const float block_max = _mm512_reduce_max_ps(scores);
    if (block_max > running_max) {
      // exp(-inf) = 0 on the first block: the empty accumulators stay 0.
      const __m512 correction = _mm512_set1_ps(std::exp(running_max - block_max));
      denominator = _mm512_mul_ps(denominator, correction);
      for (std::size_t v = 0; v < n_vectors; ++v) acc[v] = _mm512_mul_ps(acc[v], correction);
      running_max = block_max;
    }
    const __m512 weights = exp_ps(_mm512_sub_ps(scores, _mm512_set1_ps(running_max)));
    denominator = _mm512_add_ps(denominator, weights);
    _mm512_store_ps(block, weights);
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint16_t* value = values + (j0 + j) * stride;
      const __m512 w = _mm512_set1_ps(block[j]);
      for (std::size_t v = 0; v < n_vectors; ++v) {
        acc[v] = _mm512_fmadd_ps(w, load_f16(value + 16 * v), acc[v]);
      }
    }
  }
  const float total = _mm512_reduce_add_ps(denominator);
  const __m512 inverse = _mm512_set1_ps(total > 0.0f ? 1.0f / total : 0.0f);
  for (std::size_t v = 0; v < n_vectors; ++v) {
    _mm512_storeu_ps(out + 16 * v, _mm512_mul_ps(acc[v], inverse));
  }
}

}  // namespace llama3::kernels::avx512
