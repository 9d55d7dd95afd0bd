// exp over 16 floats for the AVX-512 kernels (include only from the x86/avx512/ files).
// x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two parts so r is exact to float precision), e^r
// from Cephes' degree-6 minimax polynomial (≈1 ulp), and 2^n applied by vscalefps, which also
// gives exact underflow to 0 and overflow to +inf. Inputs below -104 (e^x below the smallest
// denormal) return 0; -inf returns 0, which the online softmax relies on for empty lanes.
#pragma once

#include <immintrin.h>

namespace llama3::kernels::avx512 {

inline __m512 exp_ps(__m512 x) {
  // Clamped first (vminps returns its second operand for a NaN, so a NaN comes out as +inf);
  // attention and SwiGLU never feed NaN.
  x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.8f)), _mm512_set1_ps(-104.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 r2 = _mm512_mul_ps(r, r);
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, r2, r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(y, n);
}

}  // namespace llama3::kernels::avx512
