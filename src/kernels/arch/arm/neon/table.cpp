// The NEON (ARMv8-A Advanced SIMD) level's kernel table (kernel_table.hpp).
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/kernel_table.hpp"

LLAMA3_DEFINE_LEVEL_TABLE(neon, Arch::kNeon, Arch::kScalar, 4, attend_group_q8_0)
