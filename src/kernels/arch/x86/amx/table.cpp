// The AMX level's kernel table (kernel_table.hpp): AVX-512's, but for the quantized matmuls of a
// prompt-sized batch (32 tokens or more), which multiply 16 tokens by 16 rows per tile instruction
// (tile_matmul.cpp). The plain types have no int8 form and keep AVX-512's kernels.
#include "kernels/arch/arch_kernels.hpp"
#include "kernels/kernel_table.hpp"

namespace llama3::kernels::amx {

const KernelTable& kernel_table() {
  static const KernelTable table = [] {
    KernelTable level = avx512::kernel_table();
    level.arch = Arch::kAmx;
    level.lower = Arch::kAvx512;
    level.int_block_matmul = int_block_matmul;
    level.k_quant_matmul = k_quant_matmul;
    level.tile_activations = tile_layout;
    level.tile_min_tokens = tile_min_tokens;
    return level;
  }();
  return table;
}

}  // namespace llama3::kernels::amx
