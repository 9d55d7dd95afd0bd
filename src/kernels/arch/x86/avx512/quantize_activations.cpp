// AVX-512 activation rounding: the same float operations as the scalar loop (max|x|, d = max/127,
// x * (1/d) rounded to nearest even), so the results are bit-identical, 32 values per step.
// GCC 12 warns falsely about its own intrinsic headers' _mm512_undefined_* placeholders.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/arch/arch_kernels.hpp"

namespace llama3::kernels::avx512 {

void quantize_activation_row(const float* x, std::size_t cols, std::size_t block_values,
                             int zero_point, std::int8_t* q, float* scales, std::int32_t* init,
                             float* sums) {
  const __m512 sign_bit = _mm512_set1_ps(-0.0f);
  for (std::size_t b32 = 0; b32 < cols / 32; ++b32) {
    const __m512 lo = _mm512_loadu_ps(x + 32 * b32);
    const __m512 hi = _mm512_loadu_ps(x + 32 * b32 + 16);
    const float amax = _mm512_reduce_max_ps(
        _mm512_max_ps(_mm512_andnot_ps(sign_bit, lo), _mm512_andnot_ps(sign_bit, hi)));
    const float d = amax / 127.0f;
    const __m512 inverse = _mm512_set1_ps(d > 0.0f ? 1.0f / d : 0.0f);
    // cvtps rounds with the current mode (nearest even), as std::nearbyint does.
    const __m512i q_lo = _mm512_cvtps_epi32(_mm512_mul_ps(lo, inverse));
    const __m512i q_hi = _mm512_cvtps_epi32(_mm512_mul_ps(hi, inverse));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * b32), _mm512_cvtsepi32_epi8(q_lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * b32 + 16), _mm512_cvtsepi32_epi8(q_hi));
    const int sum_lo = _mm512_reduce_add_epi32(q_lo);
    const int sum_hi = _mm512_reduce_add_epi32(q_hi);
    if (block_values == 32) {
      scales[b32] = d;
      init[b32] = -zero_point * (sum_lo + sum_hi);
      sums[b32] = d * static_cast<float>(sum_lo + sum_hi);
    } else {  // 16-value blocks
      scales[2 * b32] = scales[2 * b32 + 1] = d;
      init[2 * b32] = -zero_point * sum_lo;
      init[2 * b32 + 1] = -zero_point * sum_hi;
      sums[2 * b32] = d * static_cast<float>(sum_lo);
      sums[2 * b32 + 1] = d * static_cast<float>(sum_hi);
    }
  }
}

}  // namespace llama3::kernels::avx512
