// The operations the xsimd kernel templates (int_block_kernels_simd.hpp, k_quant_kernels_simd.hpp,
// plain_kernels_simd.hpp) need beyond xsimd 8.1, from the CPU family this file is compiled for:
// x86/simd_ops.hpp (SSE4/AVX2 intrinsics) or arm/simd_ops.hpp (Advanced SIMD intrinsics). Both
// define the same templates in namespace llama3::kernels::simd with the same results.
#pragma once

#if defined(__x86_64__)
#include "kernels/arch/x86/simd_ops.hpp"
#elif defined(__aarch64__)
#include "kernels/arch/arm/simd_ops.hpp"
#else
#error "the xsimd kernels are built for x86-64 and aarch64 only (src/CMakeLists.txt)"
#endif
