// AVX-512 online-softmax attention over an f16 cache: head_dim a multiple of 16, at most 256, so
// the query and the output accumulator live in registers while keys and values stream past.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cmath>
#include <limits>

#include "kernels/attention.hpp"

namespace llama3::kernels::avx512 {
namespace {

constexpr std::size_t kMaxVectors = 16;  // 256 / 16

inline __m512 load_f16(const std::uint16_t* at) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)));
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
  float running_max = -std::numeric_limits<float>::infinity();
  float denominator = 0.0f;
  for (std::size_t j = 0; j < n_keys; ++j) {
    const std::uint16_t* key = keys + j * stride;
    __m512 dot = _mm512_setzero_ps();
    for (std::size_t v = 0; v < n_vectors; ++v) {
      dot = _mm512_fmadd_ps(q[v], load_f16(key + 16 * v), dot);
    }
    const float score = _mm512_reduce_add_ps(dot);
    if (score > running_max) {
      const __m512 correction = _mm512_set1_ps(std::exp(running_max - score));
      denominator *= std::exp(running_max - score);
      for (std::size_t v = 0; v < n_vectors; ++v) acc[v] = _mm512_mul_ps(acc[v], correction);
      running_max = score;
    }
    const float weight = std::exp(score - running_max);
    denominator += weight;
    const std::uint16_t* value = values + j * stride;
    const __m512 w = _mm512_set1_ps(weight);
    for (std::size_t v = 0; v < n_vectors; ++v) {
      acc[v] = _mm512_fmadd_ps(w, load_f16(value + 16 * v), acc[v]);
    }
  }
  const __m512 inverse = _mm512_set1_ps(denominator > 0.0f ? 1.0f / denominator : 0.0f);
  for (std::size_t v = 0; v < n_vectors; ++v) {
    _mm512_storeu_ps(out + 16 * v, _mm512_mul_ps(acc[v], inverse));
  }
}

}  // namespace llama3::kernels::avx512
