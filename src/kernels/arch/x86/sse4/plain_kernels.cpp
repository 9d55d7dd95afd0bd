// SSE4 plain-weight kernels: the xsimd templates of plain_kernels_simd.hpp for sse4_2, compiled
// for the x86-64-v2 baseline (no FMA: xsimd::fma is a multiply and an add; no F16C: F16 columns
// widen by bit arithmetic, x86/simd_ops.hpp).
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/plain_kernels_simd.hpp"

namespace llama3::kernels::sse4 {

void plain_matmul(const PackedMatrix& w, const float* x, std::size_t n_tokens,
                  std::size_t group_begin, std::size_t group_end, float* y) {
  simd::plain_matmul<xsimd::sse4_2>(w, x, n_tokens, group_begin, group_end, y);
}

}  // namespace llama3::kernels::sse4
