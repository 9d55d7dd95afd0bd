// AVX2 plain-weight kernels: the xsimd templates of plain_kernels_simd.hpp for fma3<avx2>,
// compiled with AVX2 + FMA + F16C (flags in src/CMakeLists.txt).
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/plain_kernels_simd.hpp"

namespace llama3::kernels::avx2 {

void plain_matmul(const PackedMatrix& w, const float* x, std::size_t n_tokens,
                  std::size_t group_begin, std::size_t group_end, float* y) {
  simd::plain_matmul<xsimd::fma3<xsimd::avx2>>(w, x, n_tokens, group_begin, group_end, y);
}

}  // namespace llama3::kernels::avx2
