// Attention over the KV cache with SSE4.2 (the x86-64-v2 baseline): no F16C, so f16 is widened
// by the exact scalar conversion, once per block for the whole group.
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/attention_simd.hpp"
#include "kernels/half_float.hpp"

namespace llama3::kernels::sse4 {
namespace {

using SimdArch = xsimd::sse4_2;

void widen_f16(const std::uint16_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = f16_to_f32(in[i]);
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

}  // namespace llama3::kernels::sse4
