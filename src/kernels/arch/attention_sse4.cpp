// SSE4 attention: the xsimd template of attention_simd.hpp for sse4_2, compiled for
// the x86-64-v2 baseline (f16 widened by bit arithmetic).
#include "kernels/arch/attention_simd.hpp"
#include "kernels/attention.hpp"

namespace llama3::kernels::sse4 {

void attend_head_f16(const float* query, const std::uint16_t* keys, const std::uint16_t* values,
                     std::size_t stride, std::size_t n_keys, std::size_t head_dim, float scale,
                     float* out) {
  simd::attend_head_f16<xsimd::sse4_2>(query, keys, values, stride, n_keys, head_dim, scale, out);
}

}  // namespace llama3::kernels::sse4
