// The query heads of one GQA group (the heads that share a KV head) attending over cached
// keys/values, in one pass with an online softmax (running max and denominator, the output
// rescaled when the max grows): no [n_keys] score buffer, no n x n matrix. Keys/values are rows of
// an f16, f32 or q8_0 cache (kv_q8_0.hpp: a row is q8_0_row_blocks(head_dim) blocks); `stride` is
// the distance between positions, in elements (blocks for q8_0), so a group reads its KV head by
// offset without copying.
//
// The whole group goes over the keys together, so each key and value row comes from memory once
// per group instead of once per query head: Llama 3 has 4 (1B-8B) or 8 (70B) query heads per KV
// head, and at a few thousand tokens of context the cache reads rival the weights'.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu_arch.hpp"
#include "kernels/kv_bf16.hpp"
#include "kernels/kv_blocks.hpp"
#include "kernels/quant_blocks.hpp"

namespace llama3::kernels {

// For each query r < n_queries: out_r = sum_j softmax_j(scale * query_r . key_j) * value_j over
// j < n_keys.  queries, out: [n_queries, head_dim]; keys, values: n_keys rows of head_dim at
// `stride`.
void attend_group_f16(const float* queries, std::size_t n_queries, const std::uint16_t* keys,
                      const std::uint16_t* values, std::size_t stride, std::size_t n_keys,
                      std::size_t head_dim, float scale, float* out, Arch arch = active_arch());
void attend_group_f32(const float* queries, std::size_t n_queries, const float* keys,
                      const float* values, std::size_t stride, std::size_t n_keys,
                      std::size_t head_dim, float scale, float* out, Arch arch = active_arch());
// Keys and values read as the values the q8_0 blocks stand for (q8_0_value): the result is that of
// the f32 kernel over the dequantized rows, to rounding, except where
// attention_rounds_q8_0_queries: there the query is first rounded to q8_0 too (integer scores).
void attend_group_q8_0(const float* queries, std::size_t n_queries, const BlockQ8_0* keys,
                       const BlockQ8_0* values, std::size_t stride, std::size_t n_keys,
                       std::size_t head_dim, float scale, float* out, Arch arch = active_arch());
// A bf16 cache (kv_bf16.hpp). Where the CPU has bf16 dot products (AVX512-BF16) the query and the
// softmax weights are rounded to bf16 for the products, so the result is that of the f32 kernel
// over the widened rows to within bf16 rounding (2^-8 relative per product at most); elsewhere the
// rows are widened and the f32 loop runs.
void attend_group_bf16(const float* queries, std::size_t n_queries, const Bf16* keys,
                       const Bf16* values, std::size_t stride, std::size_t n_keys,
                       std::size_t head_dim, float scale, float* out, Arch arch = active_arch());

// True when the q8_0 attention `arch` runs for this head size rounds each query to q8_0 (as
// quantize_q8_0_row does) and scores with integer dot products; false where q8_0 rows are widened
// to f32 and the q8_0 result is bit-identical to the f32 kernel's over the dequantized rows.
bool attention_rounds_q8_0_queries(std::size_t head_dim, Arch arch = active_arch());

// Query r over keys [0, key_counts[r]) of a contiguous cache: the queries of several tokens of a
// prompt (each token's GQA group in turn, its own causal count), so a level with a tokens kernel
// (KernelTable::attend_tokens_*) reads each key block once for all of them. Every query's result
// is bit-identical to attend_group_* over its own count.
void attend_tokens_f16(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                       const std::uint16_t* keys, const std::uint16_t* values, std::size_t stride,
                       std::size_t head_dim, float scale, float* out, Arch arch = active_arch());
void attend_tokens_f32(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                       const float* keys, const float* values, std::size_t stride,
                       std::size_t head_dim, float scale, float* out, Arch arch = active_arch());
void attend_tokens_q8_0(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                        const BlockQ8_0* keys, const BlockQ8_0* values, std::size_t stride,
                        std::size_t head_dim, float scale, float* out, Arch arch = active_arch());
void attend_tokens_bf16(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                        const Bf16* keys, const Bf16* values, std::size_t stride,
                        std::size_t head_dim, float scale, float* out, Arch arch = active_arch());

// The same over keys/values split into blocks (kv_blocks.hpp): the engine's paged memory. With
// block_positions a multiple of kAttentionKeyBlock the result is bit-identical to the contiguous
// call over the same keys in order.
void attend_group_blocks_f16(const float* queries, std::size_t n_queries,
                             const KvBlocks<std::uint16_t>& kv, std::size_t n_keys,
                             std::size_t head_dim, float scale, float* out,
                             Arch arch = active_arch());
void attend_group_blocks_f32(const float* queries, std::size_t n_queries, const KvBlocks<float>& kv,
                             std::size_t n_keys, std::size_t head_dim, float scale, float* out,
                             Arch arch = active_arch());
void attend_group_blocks_q8_0(const float* queries, std::size_t n_queries,
                              const KvBlocks<BlockQ8_0>& kv, std::size_t n_keys,
                              std::size_t head_dim, float scale, float* out,
                              Arch arch = active_arch());
void attend_group_blocks_bf16(const float* queries, std::size_t n_queries, const KvBlocks<Bf16>& kv,
                              std::size_t n_keys, std::size_t head_dim, float scale, float* out,
                              Arch arch = active_arch());

// attend_tokens_* over blocks: a paged sequence's prompt rows sharing one pass over its keys.
void attend_tokens_blocks_f16(const float* queries, std::size_t n_queries,
                              const std::size_t* key_counts, const KvBlocks<std::uint16_t>& kv,
                              std::size_t head_dim, float scale, float* out,
                              Arch arch = active_arch());
void attend_tokens_blocks_f32(const float* queries, std::size_t n_queries,
                              const std::size_t* key_counts, const KvBlocks<float>& kv,
                              std::size_t head_dim, float scale, float* out,
                              Arch arch = active_arch());
void attend_tokens_blocks_q8_0(const float* queries, std::size_t n_queries,
                               const std::size_t* key_counts, const KvBlocks<BlockQ8_0>& kv,
                               std::size_t head_dim, float scale, float* out,
                               Arch arch = active_arch());
void attend_tokens_blocks_bf16(const float* queries, std::size_t n_queries,
                               const std::size_t* key_counts, const KvBlocks<Bf16>& kv,
                               std::size_t head_dim, float scale, float* out,
                               Arch arch = active_arch());

}  // namespace llama3::kernels
