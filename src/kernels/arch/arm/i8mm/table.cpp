// The i8mm level's kernel table (kernel_table.hpp): the dot-product level's kernels but for the
// integer-block matmul, which multiplies two tokens at a time by SMMLA (int_block_kernels.cpp).
// The K-quants keep sdot: their sub-block scales change every 16 or 32 values per row, so a 2x2
// tile would need a scale per row pair and token pair in the inner loop.
#include <algorithm>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/kernel_table.hpp"

namespace llama3::kernels::i8mm {
namespace {
void fill(float* x, std::size_t n, float value) {
  std::fill(x, x + n, value);
}
}  // namespace

const KernelTable& kernel_table() {
  static const KernelTable table = {
      .arch = Arch::kI8mm,
      .lower = Arch::kDotprod,
      .int_block_matmul = int_block_matmul,
      .k_quant_matmul = dotprod::k_quant_matmul,
      .plain_matmul = dotprod::plain_matmul,
      .attend_f16 = dotprod::attend_group_f16,
      .attend_f32 = dotprod::attend_group_f32,
      .attend_q8_0 = dotprod::attend_group_q8_0,
      .attend_bf16 = dotprod::attend_group_bf16,
      .attention_head_multiple = 4,
      .silu_mul = dotprod::silu_mul,
      .quantize_activation_row = neon::quantize_activation_row,
      .fill = fill,
      .mask_row = dotprod::mask_row,
      .attend_tokens_f16 = dotprod::attend_tokens_f16,
      .attend_tokens_f32 = dotprod::attend_tokens_f32,
      .attend_tokens_q8_0 = dotprod::attend_tokens_q8_0,
      .attend_tokens_bf16 = dotprod::attend_tokens_bf16,
  };
  return table;
}

}  // namespace llama3::kernels::i8mm
