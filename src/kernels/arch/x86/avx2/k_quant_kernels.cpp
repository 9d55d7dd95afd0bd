// The xsimd K-quant kernels (k_quant_kernels_simd.hpp) at AVX2 + FMA + F16C (flags in
// src/CMakeLists.txt).
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/k_quant_kernels_simd.hpp"

namespace llama3::kernels {

template void k_quant_simd::k_quant_matmul<xsimd::fma3<xsimd::avx2>>(const PackedMatrix&,
                                                                     const QuantizedActivations&,
                                                                     std::size_t, std::size_t,
                                                                     float*);

void avx2::k_quant_matmul(const PackedMatrix& w, const QuantizedActivations& x,
                          std::size_t group_begin, std::size_t group_end, float* y) {
  k_quant_simd::k_quant_matmul<xsimd::fma3<xsimd::avx2>>(w, x, group_begin, group_end, y);
}

}  // namespace llama3::kernels
