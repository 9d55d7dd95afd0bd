#include "kernels/kernel_table.hpp"

namespace llama3::kernels {
namespace {

const KernelTable kScalarTable = {
    .arch = Arch::kScalar,
    .lower = Arch::kScalar,
    .int_block_matmul = nullptr,
    .k_quant_matmul = nullptr,
    .plain_matmul = nullptr,
    .attend_f16 = nullptr,
    .attend_f32 = nullptr,
    .attend_q8_0 = nullptr,
    .attend_bf16 = nullptr,
    .attention_head_multiple = 0,
    .silu_mul = portable::silu_mul,
    .quantize_activation_row = portable::quantize_activation_row,
    .fill = portable::fill,
    .mask_row = portable::mask_row,
};

}  // namespace

const KernelTable& kernel_table(Arch arch) {
  switch (arch) {
#if defined(__x86_64__)
    case Arch::kSse4:
      return sse4::kernel_table();
    case Arch::kAvx2:
      return avx2::kernel_table();
    case Arch::kAvx512:
      return avx512::kernel_table();
    case Arch::kAmx:
      return amx::kernel_table();
#elif defined(__aarch64__)
    case Arch::kNeon:
      return neon::kernel_table();
    case Arch::kDotprod:
      return dotprod::kernel_table();
    case Arch::kI8mm:
      return i8mm::kernel_table();
#endif
    default:
      return kScalarTable;
  }
}

}  // namespace llama3::kernels
