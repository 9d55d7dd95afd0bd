// The NEON level: the xsimd kernels on Advanced SIMD (every ARMv8-A CPU), byte dot products by
// widening multiplies (arm/simd_ops.hpp).
#include "kernels/arch/arm/level_kernels.hpp"

LLAMA3_ARM_LEVEL_KERNELS(neon, xsimd::neon64)
