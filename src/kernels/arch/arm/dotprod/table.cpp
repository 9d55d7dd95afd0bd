// The ARMv8.2 dot-product level's kernel table (kernel_table.hpp).
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/kernel_table.hpp"

LLAMA3_DEFINE_LEVEL_TABLE(dotprod, Arch::kDotprod, Arch::kNeon, 4, attend_group_q8_0)
