// AVX-512 versions of the element-wise operations whose scalar form is bound by std::exp.
// GCC 12 warns falsely about its own intrinsic headers' _mm512_undefined_* placeholders.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/x86/avx512/exp.hpp"

namespace llama3::kernels::avx512 {

void silu_mul(float* gate, const float* up, std::size_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (std::size_t i = 0; i < n; i += 16) {
    const auto mask = static_cast<__mmask16>(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1u);
    const __m512 g = _mm512_maskz_loadu_ps(mask, gate + i);
    const __m512 u = _mm512_maskz_loadu_ps(mask, up + i);
    // g / (1 + e^-g): for g below -88.8, e^-g saturates to +inf and the quotient to -0, as the
    // scalar form gives.
    const __m512 sigmoid_denominator =
        _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g)));
    _mm512_mask_storeu_ps(gate + i, mask, _mm512_mul_ps(_mm512_div_ps(g, sigmoid_denominator), u));
  }
}

}  // namespace llama3::kernels::avx512
