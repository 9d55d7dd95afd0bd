// Attention over the KV cache with AVX2 + FMA, f16 widened by F16C (flags in src/CMakeLists.txt),
// q8_0 by sign-extending 8 quants to i32 and multiplying by the block's scale.
#include <immintrin.h>

#include <algorithm>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/attention_simd.hpp"

namespace llama3::kernels::avx2 {
namespace {

using SimdArch = xsimd::fma3<xsimd::avx2>;

// n: a multiple of 8 (head_dim is one of the batch width).
void widen_f16(const std::uint16_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 8) {
    _mm256_store_ps(out + i,
                    _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
}

// n: a multiple of 8; row: q8_0_row_blocks(n) blocks (kv_q8_0.hpp).
void widen_q8_0(const BlockQ8_0* row, float* out, std::size_t n) {
  for (std::size_t first = 0; first < n; first += kLegacyBlockValues, ++row) {
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(row->d));
    const std::size_t count = std::min(kLegacyBlockValues, n - first);
    for (std::size_t i = 0; i < count; i += 8) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row->qs.data() + i));
      _mm256_storeu_ps(out + first + i,
                       _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
    }
  }
}

}  // namespace

LLAMA3_SIMD_ATTENTION_ENTRIES(SimdArch, widen_f16, widen_q8_0)

}  // namespace llama3::kernels::avx2
