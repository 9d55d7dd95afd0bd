// The AVX-512 level's kernel table (kernel_table.hpp): the intrinsics kernels of this folder,
// including its own silu_mul and activation rounding.
#include <algorithm>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/x86/avx512/attention_bf16.hpp"
#include "kernels/kernel_table.hpp"

namespace llama3::kernels::avx512 {
namespace {
// In this translation unit, so the loop is vectorised with AVX-512 stores.
void fill(float* x, std::size_t n, float value) {
  std::fill(x, x + n, value);
}
}  // namespace

const KernelTable& kernel_table() {
  static const KernelTable table = {
      .arch = Arch::kAvx512,
      .lower = Arch::kAvx2,
      .int_block_matmul = int_block_matmul,
      .k_quant_matmul = k_quant_matmul,
      .plain_matmul = plain_matmul,
      .attend_f16 = attend_group_f16,
      .attend_f32 = attend_group_f32,
      // Integer scores (VNNI, which this level requires) over q8_0 keys.
      .attend_q8_0 = attend_group_q8_0,
      // A CPU without AVX512-BF16 widens a bf16 cache in the AVX2 kernel (the lower level).
      .attend_bf16 = cpu_has_avx512_bf16() ? attend_group_bf16_dot : nullptr,
      .attention_head_multiple = 16,
      .silu_mul = silu_mul,
      .quantize_activation_row = quantize_activation_row,
      .fill = fill,
      .mask_row = mask_row,
      .attend_tokens_f16 = attend_tokens_f16,
      .attend_tokens_f32 = attend_tokens_f32,
      .attend_tokens_q8_0 = attend_tokens_q8_0,
      .attend_tokens_bf16 = cpu_has_avx512_bf16() ? attend_tokens_bf16_dot : nullptr,
      .q8_0_attention_rounds_queries = true,
  };
  return table;
}

}  // namespace llama3::kernels::avx512
