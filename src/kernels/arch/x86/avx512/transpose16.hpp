// In-register transpose of 16 vectors of 16 32-bit lanes, for kernels that lay rows out as
// columns (attention over bf16 pairs or 8-bit quads of 16 keys). Include only from the
// x86/avx512/ files.
#pragma once

#include <immintrin.h>

namespace llama3::kernels::avx512 {

// In-register transpose of a 16 x 16 matrix of 32-bit elements: r[i] lane j becomes r[j] lane i.
inline void transpose16(__m512i (&r)[16]) {
  __m512i t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4i + k], 128-bit lane L: rows 4i..4i+3 at column 4L + k.
  __m512i u[16];
  for (int i = 0; i < 4; ++i) {
    u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    const __m512i even_low = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x88);
    const __m512i odd_low = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xDD);
    const __m512i even_high = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x88);
    const __m512i odd_high = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xDD);
    r[k] = _mm512_shuffle_i32x4(even_low, even_high, 0x88);
    r[8 + k] = _mm512_shuffle_i32x4(even_low, even_high, 0xDD);
    r[4 + k] = _mm512_shuffle_i32x4(odd_low, odd_high, 0x88);
    r[12 + k] = _mm512_shuffle_i32x4(odd_low, odd_high, 0xDD);
  }
}

}  // namespace llama3::kernels::avx512
