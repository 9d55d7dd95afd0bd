// The AVX2 + FMA + F16C level's kernel table (kernel_table.hpp): this folder's xsimd kernels.
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/kernel_table.hpp"

LLAMA3_DEFINE_LEVEL_TABLE(avx2, Arch::kAvx2, Arch::kSse4, 8, attend_group_q8_0)
