// The SSE4.2 (x86-64-v2) level's kernel table (kernel_table.hpp): this folder's xsimd kernels.
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/kernel_table.hpp"

LLAMA3_DEFINE_LEVEL_TABLE(sse4, Arch::kSse4, Arch::kScalar, 4, attend_group_q8_0)
