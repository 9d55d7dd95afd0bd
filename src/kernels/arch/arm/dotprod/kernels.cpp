// The dot-product level: the xsimd kernels with ARMv8.2's sdot adding 4-byte products straight
// into s32 sums (compiled with -march=armv8.2-a+dotprod, src/CMakeLists.txt).
#include "kernels/arch/arm/level_kernels.hpp"

LLAMA3_ARM_LEVEL_KERNELS(dotprod, simd::NeonDotprod)
