// The NEON (ARMv8-A Advanced SIMD) level's kernel table (kernel_table.hpp): this folder's xsimd
// kernels, the portable element-wise kernels.
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/kernel_table.hpp"

namespace llama3::kernels::neon {

const KernelTable& kernel_table() {
  static const KernelTable table = {
      .arch = Arch::kNeon,
      .lower = Arch::kScalar,
      .int_block_matmul = int_block_matmul,
      .k_quant_matmul = k_quant_matmul,
      .plain_matmul = plain_matmul,
      .attend_f16 = attend_group_f16,
      .attend_f32 = attend_group_f32,
      .attention_head_multiple = 4,
      .silu_mul = portable::silu_mul,
      .quantize_activation_row = portable::quantize_activation_row,
  };
  return table;
}

}  // namespace llama3::kernels::neon
