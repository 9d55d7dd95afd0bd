// SSE4 integer-block kernels: the xsimd templates of int_block_kernels_simd.hpp for sse4_2,
// compiled for the x86-64-v2 baseline (SSSE3's pmaddubsw and psignb included; no F16C, FMA).
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/int_block_kernels_simd.hpp"

namespace llama3::kernels::sse4 {

void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                      std::size_t group_end, float* y) {
  simd::int_block_matmul<xsimd::sse4_2>(w, x, group_begin, group_end, y);
}

}  // namespace llama3::kernels::sse4
