// The entry points each arch level defines in its folder (x86/<level>/, arm/<level>/), each
// compiled there with its level's flags (src/CMakeLists.txt) and gathered into that level's
// KernelTable by its table.cpp. Contracts: kernel_table.hpp. Only the table files and the kernels
// themselves include this header; everything else reads the table.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/kv_bf16.hpp"
#include "kernels/kv_blocks.hpp"
#include "kernels/packed_matrix.hpp"
#include "kernels/quant_blocks.hpp"
#include "kernels/quantized_activations.hpp"

#define LLAMA3_DECLARE_ARCH_KERNELS(level)                                                        \
  namespace llama3::kernels::level {                                                              \
  void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x,                     \
                        std::size_t group_begin, std::size_t group_end, float* y);                \
  void k_quant_matmul(const PackedMatrix& w, const QuantizedActivations& x,                       \
                      std::size_t group_begin, std::size_t group_end, float* y);                  \
  void plain_matmul(const PackedMatrix& w, const float* x, std::size_t n_tokens,                  \
                    std::size_t group_begin, std::size_t group_end, float* y);                    \
  void attend_group_f16(const float* queries, std::size_t n_queries,                              \
                        const KvBlocks<std::uint16_t>& kv, std::size_t n_keys,                    \
                        std::size_t head_dim, float scale, float* out);                           \
  void attend_group_f32(const float* queries, std::size_t n_queries, const KvBlocks<float>& kv,   \
                        std::size_t n_keys, std::size_t head_dim, float scale, float* out);       \
  void attend_group_q8_0(const float* queries, std::size_t n_queries,                             \
                         const KvBlocks<BlockQ8_0>& kv, std::size_t n_keys, std::size_t head_dim, \
                         float scale, float* out);                                                \
  void attend_tokens_f16(const float* queries, std::size_t n_queries,                             \
                         const std::size_t* key_counts, const KvBlocks<std::uint16_t>& kv,        \
                         std::size_t n_keys, std::size_t head_dim, float scale, float* out);      \
  void attend_tokens_f32(const float* queries, std::size_t n_queries,                             \
                         const std::size_t* key_counts, const KvBlocks<float>& kv,                \
                         std::size_t n_keys, std::size_t head_dim, float scale, float* out);      \
  void attend_tokens_q8_0(const float* queries, std::size_t n_queries,                            \
                          const std::size_t* key_counts, const KvBlocks<BlockQ8_0>& kv,           \
                          std::size_t n_keys, std::size_t head_dim, float scale, float* out);     \
  void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words);    \
  }

LLAMA3_DECLARE_ARCH_KERNELS(sse4)
LLAMA3_DECLARE_ARCH_KERNELS(avx2)
LLAMA3_DECLARE_ARCH_KERNELS(avx512)
LLAMA3_DECLARE_ARCH_KERNELS(neon)
LLAMA3_DECLARE_ARCH_KERNELS(dotprod)

#undef LLAMA3_DECLARE_ARCH_KERNELS

// A bf16 cache widened to f32 for the f32 loop, at the levels without bf16 dot products (AVX-512
// has its own kernels, x86/avx512/attention_bf16.hpp, on CPUs with AVX512-BF16).
#define LLAMA3_DECLARE_BF16_ATTENTION(level)                                                    \
  namespace llama3::kernels::level {                                                            \
  void attend_group_bf16(const float* queries, std::size_t n_queries, const KvBlocks<Bf16>& kv, \
                         std::size_t n_keys, std::size_t head_dim, float scale, float* out);    \
  void attend_tokens_bf16(const float* queries, std::size_t n_queries,                          \
                          const std::size_t* key_counts, const KvBlocks<Bf16>& kv,              \
                          std::size_t n_keys, std::size_t head_dim, float scale, float* out);   \
  }
LLAMA3_DECLARE_BF16_ATTENTION(sse4)
LLAMA3_DECLARE_BF16_ATTENTION(avx2)
LLAMA3_DECLARE_BF16_ATTENTION(neon)
LLAMA3_DECLARE_BF16_ATTENTION(dotprod)
#undef LLAMA3_DECLARE_BF16_ATTENTION

// AVX-512's own element-wise kernels (the other levels use the portable ones).
namespace llama3::kernels::avx512 {
// gate[i] = silu(gate[i]) * up[i] with a polynomial exp, within a few ulp of std::exp.
void silu_mul(float* gate, const float* up, std::size_t n);
// The QuantizeRowKernel contract (kernel_table.hpp), bit for bit.
void quantize_activation_row(const float* x, std::size_t cols, std::size_t block_values,
                             int zero_point, std::int8_t* q, float* scales, std::int32_t* init,
                             float* sums);
}  // namespace llama3::kernels::avx512

// The aarch64 levels' own silu_mul (arm/level_kernels.hpp, within a few ulp of std::exp's), the
// Advanced SIMD activation rounding every aarch64 level shares (arm/neon/, bit for bit as the
// portable loop), and the i8mm level's integer-block matmul (arm/i8mm/; its other entries are the
// dot-product level's).
#define LLAMA3_DECLARE_ARM_SILU_MUL(level)                    \
  namespace llama3::kernels::level {                          \
  void silu_mul(float* gate, const float* up, std::size_t n); \
  }
LLAMA3_DECLARE_ARM_SILU_MUL(neon)
LLAMA3_DECLARE_ARM_SILU_MUL(dotprod)
#undef LLAMA3_DECLARE_ARM_SILU_MUL
namespace llama3::kernels::neon {
void quantize_activation_row(const float* x, std::size_t cols, std::size_t block_values,
                             int zero_point, std::int8_t* q, float* scales, std::int32_t* init,
                             float* sums);
}  // namespace llama3::kernels::neon
// The AMX level's quantized matmuls (x86/amx/; its other entries are AVX-512's).
namespace llama3::kernels::amx {
void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                      std::size_t group_end, float* y);
void k_quant_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                    std::size_t group_end, float* y);
// KernelTable::tile_activations, and the batch size from which the matmuls above use tiles.
void tile_layout(QuantizedActivations& x, std::size_t tile_begin, std::size_t tile_end);
extern const std::size_t tile_min_tokens;
}  // namespace llama3::kernels::amx
namespace llama3::kernels::i8mm {
void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                      std::size_t group_end, float* y);
}  // namespace llama3::kernels::i8mm

// The table.cpp of a level whose kernels are the ones above and whose element-wise kernels are the
// portable ones (the x86 levels but AVX-512): `lower` is the next level down, `head_multiple` the
// vector width of its attention kernel in floats.
#define LLAMA3_DEFINE_LEVEL_TABLE(level, this_arch, lower_arch, head_multiple)                    \
  LLAMA3_DEFINE_LEVEL_TABLE_WITH(level, this_arch, lower_arch, head_multiple, portable::silu_mul, \
                                 portable::quantize_activation_row)
// The same with the level's own element-wise kernels (the aarch64 levels).
#define LLAMA3_DEFINE_LEVEL_TABLE_WITH(level, this_arch, lower_arch, head_multiple, silu, \
                                       quantize)                                          \
  namespace llama3::kernels::level {                                                      \
  /* compiled with this level's flags */                                                  \
  static void fill(float* x, std::size_t n, float value) {                                \
    std::fill(x, x + n, value);                                                           \
  }                                                                                       \
  const KernelTable& kernel_table() {                                                     \
    static const KernelTable table = {                                                    \
        .arch = this_arch,                                                                \
        .lower = lower_arch,                                                              \
        .int_block_matmul = int_block_matmul,                                             \
        .k_quant_matmul = k_quant_matmul,                                                 \
        .plain_matmul = plain_matmul,                                                     \
        .attend_f16 = attend_group_f16,                                                   \
        .attend_f32 = attend_group_f32,                                                   \
        .attend_q8_0 = attend_group_q8_0,                                                 \
        .attend_bf16 = attend_group_bf16,                                                 \
        .attention_head_multiple = head_multiple,                                         \
        .silu_mul = silu,                                                                 \
        .quantize_activation_row = quantize,                                              \
        .fill = fill,                                                                     \
        .mask_row = mask_row,                                                             \
        .attend_tokens_f16 = attend_tokens_f16,                                           \
        .attend_tokens_f32 = attend_tokens_f32,                                           \
        .attend_tokens_q8_0 = attend_tokens_q8_0,                                         \
        .attend_tokens_bf16 = attend_tokens_bf16,                                         \
    };                                                                                    \
    return table;                                                                         \
  }                                                                                       \
  }
