// The xsimd K-quant kernels (k_quant_kernels_simd.hpp) at SSE4.2, the library's x86-64-v2
// baseline: no FMA (products round before the add) and no F16C (k_quant_simd_ops.hpp converts).
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/k_quant_kernels_simd.hpp"

namespace llama3::kernels {

template void k_quant_simd::k_quant_matmul<xsimd::sse4_2>(const PackedMatrix&,
                                                          const QuantizedActivations&, std::size_t,
                                                          std::size_t, float*);

void sse4::k_quant_matmul(const PackedMatrix& w, const QuantizedActivations& x,
                          std::size_t group_begin, std::size_t group_end, float* y) {
  k_quant_simd::k_quant_matmul<xsimd::sse4_2>(w, x, group_begin, group_end, y);
}

}  // namespace llama3::kernels
