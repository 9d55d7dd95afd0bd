// AVX2 integer-block kernels: the xsimd templates of int_block_kernels_simd.hpp for fma3<avx2>,
// compiled with AVX2 + FMA + F16C (flags in src/CMakeLists.txt).
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/int_block_kernels_simd.hpp"

namespace llama3::kernels::avx2 {

void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                      std::size_t group_end, float* y) {
  simd::int_block_matmul<xsimd::fma3<xsimd::avx2>>(w, x, group_begin, group_end, y);
}

}  // namespace llama3::kernels::avx2
