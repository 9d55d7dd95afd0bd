// Attention over the KV cache with SSE4.2 (the x86-64-v2 baseline): no F16C, so f16 is widened
// by the exact scalar conversion, once per block for the whole group; q8_0 by sign-extending 4
// quants at a time to i32 and multiplying by the block's scale.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/attention_simd.hpp"
#include "kernels/half_float.hpp"

namespace llama3::kernels::sse4 {
namespace {

using SimdArch = xsimd::sse4_2;

void widen_f16(const std::uint16_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = f16_to_f32(in[i]);
}

// n: a multiple of 4; row: q8_0_row_blocks(n) blocks (kv_q8_0.hpp).
void widen_q8_0(const BlockQ8_0* row, float* out, std::size_t n) {
  for (std::size_t first = 0; first < n; first += kLegacyBlockValues, ++row) {
    const __m128 d = _mm_set1_ps(f16_to_f32(row->d));
    const std::size_t count = std::min(kLegacyBlockValues, n - first);
    for (std::size_t i = 0; i < count; i += 4) {
      int four;
      std::memcpy(&four, row->qs.data() + i, sizeof(four));
      const __m128i q = _mm_cvtepi8_epi32(_mm_cvtsi32_si128(four));
      _mm_storeu_ps(out + first + i, _mm_mul_ps(d, _mm_cvtepi32_ps(q)));
    }
  }
}

}  // namespace

LLAMA3_SIMD_ATTENTION_ENTRIES(SimdArch, widen_f16, widen_q8_0)

}  // namespace llama3::kernels::sse4
