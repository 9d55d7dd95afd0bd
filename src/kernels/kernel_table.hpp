// One table of kernel entry points per arch level, chosen once at start. Each arch folder
// (arch/x86/{amx,avx512,avx2,sse4}, arch/arm/{neon,dotprod,i8mm}) fills its table in its own
// table.cpp; kernel_table.cpp is the one place that maps an Arch to its table. The callers
// (matmul.cpp, attention.cpp, vector_ops.cpp, quantized_activations.cpp) only read entries, so
// adding an arch means adding a folder and one line in kernel_table.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu_arch.hpp"
#include "kernels/kv_bf16.hpp"
#include "kernels/kv_blocks.hpp"
#include "kernels/packed_matrix.hpp"
#include "kernels/quant_blocks.hpp"
#include "kernels/quantized_activations.hpp"

namespace llama3::kernels {

// Integer-block or K-quant weights: row groups [group_begin, group_end), every token of x.
// y: [x.n_tokens, w.rows()].
using IntMatmulKernel = void (*)(const PackedMatrix& w, const QuantizedActivations& x,
                                 std::size_t group_begin, std::size_t group_end, float* y);
// Plain (F32/F16/BF16) weights, row groups [group_begin, group_end). x: [n_tokens, w.cols()].
using PlainMatmulKernel = void (*)(const PackedMatrix& w, const float* x, std::size_t n_tokens,
                                   std::size_t group_begin, std::size_t group_end, float* y);
// The contract of attend_group_blocks_* (attention.hpp) for head_dim a multiple of
// KernelTable::attention_head_multiple, at most 256.
template <typename Element>
using AttentionKernel = void (*)(const float* queries, std::size_t n_queries,
                                 const KvBlocks<Element>& kv, std::size_t n_keys,
                                 std::size_t head_dim, float scale, float* out);
// The same with query r over keys [0, key_counts[r]) (n_keys: the largest count), at most 16
// queries: a prompt's tokens sharing one pass over the keys.
template <typename Element>
using AttentionTokensKernel = void (*)(const float* queries, std::size_t n_queries,
                                       const std::size_t* key_counts, const KvBlocks<Element>& kv,
                                       std::size_t n_keys, std::size_t head_dim, float scale,
                                       float* out);
// gate[i] = silu(gate[i]) * up[i].
using SiluMulKernel = void (*)(float* gate, const float* up, std::size_t n);
// One token's row of `cols` values (a multiple of 32) rounded to 8-bit blocks, bit for bit as the
// portable loop: q [cols], and per block of block_values (16 or 32) scale, -zero_point * sum(q)
// and scale * sum(q).
using QuantizeRowKernel = void (*)(const float* x, std::size_t cols, std::size_t block_values,
                                   int zero_point, std::int8_t* q, float* scales,
                                   std::int32_t* init, float* sums);

// x[i] = value for i < n (the grammar mask writes -infinity over long runs of the logits row).
using FillKernel = void (*)(float* x, std::size_t n, float value);
// row[i] = -infinity for every i < n whose bit in `allowed` is clear (bit i % 64 of word i / 64;
// words at or past n_words count as zero); other entries are left as they are. A grammar's token
// mask over the logits row.
using MaskRowKernel = void (*)(float* row, std::size_t n, const std::uint64_t* allowed,
                               std::size_t n_words);

// Lays out 16-token tiles [tile_begin, tile_end) of x's tile_* arrays (sized by the caller).
using TileActivationsKernel = void (*)(QuantizedActivations& x, std::size_t tile_begin,
                                       std::size_t tile_end);

struct KernelTable {
  Arch arch;
  // The next level down (the CPU runs it too), whose kernels take what this level's do not: a head
  // size that is not a multiple of this level's attention_head_multiple. Scalar ends the chain.
  Arch lower;
  // Packed weights. Null in the scalar table: matmul then takes the reference path over the
  // unpacked weights.
  IntMatmulKernel int_block_matmul;
  IntMatmulKernel k_quant_matmul;
  PlainMatmulKernel plain_matmul;
  // Attention over an f16 / f32 / q8_0 / bf16 cache; a head size that is not a multiple of
  // attention_head_multiple, or a null entry, goes to the lower level's kernel, and from scalar
  // (null) to the portable loop in attention.cpp.
  AttentionKernel<std::uint16_t> attend_f16;
  AttentionKernel<float> attend_f32;
  AttentionKernel<BlockQ8_0> attend_q8_0;
  AttentionKernel<Bf16> attend_bf16;
  std::size_t attention_head_multiple;
  SiluMulKernel silu_mul;
  QuantizeRowKernel quantize_activation_row;
  // Compiled with the level's flags, so the loop stores whole vectors of its width.
  FillKernel fill;
  // Per 64-bit word: all-allowed words skipped, all-forbidden ones stored whole, mixed ones by a
  // vector select on the word's bits (arch/mask_row_words.hpp).
  MaskRowKernel mask_row;
  // Null unless the level's quantized matmuls read activations as 16-token tiles
  // (QuantizedActivations::tile_*), for batches of at least tile_min_tokens.
  TileActivationsKernel tile_activations = nullptr;
  std::size_t tile_min_tokens = 0;
  // Null where attend_* is (the lower level's pair is used) and in the scalar table, where
  // attention runs token by token (attention.cpp calls attend_* per key count). Same head sizes as
  // attend_*.
  AttentionTokensKernel<std::uint16_t> attend_tokens_f16 = nullptr;
  AttentionTokensKernel<float> attend_tokens_f32 = nullptr;
  AttentionTokensKernel<BlockQ8_0> attend_tokens_q8_0 = nullptr;
  AttentionTokensKernel<Bf16> attend_tokens_bf16 = nullptr;
  // True where attend_q8_0 rounds each query to q8_0 and multiplies 8-bit quants (integer
  // scores): its result is then the f32 kernel's over the dequantized rows with the query's q8_0
  // rounding, not with the query itself (attention.hpp, attention_rounds_q8_0_queries).
  bool q8_0_attention_rounds_queries = false;
};

// The table of `arch`; an arch this build has no kernels for (another CPU family) gets the scalar
// table.
const KernelTable& kernel_table(Arch arch);

// The portable entries every table may share (vector_ops.cpp, quantized_activations.cpp).
namespace portable {
void silu_mul(float* gate, const float* up, std::size_t n);
void fill(float* x, std::size_t n, float value);
void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words);
void quantize_activation_row(const float* x, std::size_t cols, std::size_t block_values,
                             int zero_point, std::int8_t* q, float* scales, std::int32_t* init,
                             float* sums);
}  // namespace portable

// Each arch folder's table (arch/<family>/<level>/table.cpp).
#define LLAMA3_DECLARE_KERNEL_TABLE(level) \
  namespace level {                        \
  const KernelTable& kernel_table();       \
  }
LLAMA3_DECLARE_KERNEL_TABLE(sse4)
LLAMA3_DECLARE_KERNEL_TABLE(avx2)
LLAMA3_DECLARE_KERNEL_TABLE(avx512)
LLAMA3_DECLARE_KERNEL_TABLE(amx)
LLAMA3_DECLARE_KERNEL_TABLE(neon)
LLAMA3_DECLARE_KERNEL_TABLE(dotprod)
LLAMA3_DECLARE_KERNEL_TABLE(i8mm)
#undef LLAMA3_DECLARE_KERNEL_TABLE

}  // namespace llama3::kernels
