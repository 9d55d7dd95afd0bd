// Attention over the KV cache with AVX2 + FMA, f16 widened by F16C (flags in src/CMakeLists.txt).
#include <immintrin.h>

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

}  // namespace

void attend_group_f16(const float* queries, std::size_t n_queries,
                      const KvBlocks<std::uint16_t>& kv, std::size_t n_keys, std::size_t head_dim,
                      float scale, float* out) {
  simd_attention::attend_group<SimdArch>(queries, n_queries, kv, n_keys, head_dim, scale, out,
                                         widen_f16);
}

void attend_group_f32(const float* queries, std::size_t n_queries, const KvBlocks<float>& kv,
                      std::size_t n_keys, std::size_t head_dim, float scale, float* out) {
  simd_attention::attend_group<SimdArch>(queries, n_queries, kv, n_keys, head_dim, scale, out,
                                         widen_f16);
}

}  // namespace llama3::kernels::avx2
