// The AMX level's kernel table (kernel_table.hpp): AVX-512's, but for the integer-block matmul of
// a prompt-sized batch (32 tokens or more), which multiplies 16 tokens by 16 rows per tile
// instruction (int_block_kernels.cpp). The K-quants keep AVX-512's kernel: their sub-block scales
// change every 16 or 32 values per row, and the plain types have no int8 form.
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/kernel_table.hpp"

namespace llama3::kernels::amx {

const KernelTable& kernel_table() {
  static const KernelTable table = [] {
    KernelTable level = avx512::kernel_table();
    level.arch = Arch::kAmx;
    level.lower = Arch::kAvx512;
    level.int_block_matmul = int_block_matmul;
    return level;
  }();
  return table;
}

}  // namespace llama3::kernels::amx
