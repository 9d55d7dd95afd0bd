#include "engine/paged_kv.hpp"

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/kv_q8_0.hpp"

// A sequence's blocks and a lone Session's contiguous cache give the same bits only when every
// softmax step of the attention kernels lies inside one block (kernels/kv_blocks.hpp).
static_assert(llama3::engine::kBlockPositions % llama3::kernels::kAttentionKeyBlock == 0 &&
              llama3::engine::kBlockPositions % llama3::kernels::kBf16AttentionKeyStep == 0);

namespace llama3::engine {
namespace {

// One KV head's keys and values over the first n_keys positions of `table`, the pool's rows read as
// `Element` (f16 bits, floats, q8_0 blocks or bf16, kv_pool.hpp), `stride` Elements apart. The
// block lists are per thread, valid until the thread's next call.
template <typename Element>
kernels::KvBlocks<Element> head_blocks(const KvPool& pool, const std::vector<BlockId>& table,
                                       int layer, int kv_head, std::size_t n_keys,
                                       std::size_t stride) {
  const std::size_t n_blocks = (n_keys + kBlockPositions - 1) / kBlockPositions;
  thread_local std::vector<const Element*> keys, values;
  keys.resize(n_blocks);
  values.resize(n_blocks);
  for (std::size_t b = 0; b < n_blocks; ++b) {
    keys[b] = reinterpret_cast<const Element*>(pool.head_keys(table[b], layer, kv_head));
    values[b] = reinterpret_cast<const Element*>(pool.head_values(table[b], layer, kv_head));
  }
  return {keys.data(), values.data(), kBlockPositions, stride};
}

// Calls `use` with the head's KvBlocks of the pool's element type.
template <typename Use>
void with_head_blocks(const KvPool& pool, const std::vector<BlockId>& table, int layer, int kv_head,
                      std::size_t n_keys, std::size_t head_dim, Use use) {
  switch (pool.type()) {
    case KvCacheType::kF16:
      return use(head_blocks<std::uint16_t>(pool, table, layer, kv_head, n_keys, head_dim));
    case KvCacheType::kQ8_0:
      return use(head_blocks<kernels::BlockQ8_0>(pool, table, layer, kv_head, n_keys,
                                                 kernels::q8_0_row_blocks(head_dim)));
    case KvCacheType::kF32:
      return use(head_blocks<float>(pool, table, layer, kv_head, n_keys, head_dim));
    case KvCacheType::kBf16:
      return use(head_blocks<kernels::Bf16>(pool, table, layer, kv_head, n_keys, head_dim));
  }
}

template <typename Element>
void attend_group_blocks(const float* queries, std::size_t n_queries,
                         const kernels::KvBlocks<Element>& kv, std::size_t n_keys,
                         std::size_t head_dim, float scale, float* out) {
  if constexpr (std::is_same_v<Element, std::uint16_t>) {
    kernels::attend_group_blocks_f16(queries, n_queries, kv, n_keys, head_dim, scale, out);
  } else if constexpr (std::is_same_v<Element, float>) {
    kernels::attend_group_blocks_f32(queries, n_queries, kv, n_keys, head_dim, scale, out);
  } else if constexpr (std::is_same_v<Element, kernels::BlockQ8_0>) {
    kernels::attend_group_blocks_q8_0(queries, n_queries, kv, n_keys, head_dim, scale, out);
  } else {
    kernels::attend_group_blocks_bf16(queries, n_queries, kv, n_keys, head_dim, scale, out);
  }
}

template <typename Element>
void attend_tokens_blocks(const float* queries, std::size_t n_queries,
                          const std::size_t* key_counts, const kernels::KvBlocks<Element>& kv,
                          std::size_t head_dim, float scale, float* out) {
  if constexpr (std::is_same_v<Element, std::uint16_t>) {
    kernels::attend_tokens_blocks_f16(queries, n_queries, key_counts, kv, head_dim, scale, out);
  } else if constexpr (std::is_same_v<Element, float>) {
    kernels::attend_tokens_blocks_f32(queries, n_queries, key_counts, kv, head_dim, scale, out);
  } else if constexpr (std::is_same_v<Element, kernels::BlockQ8_0>) {
    kernels::attend_tokens_blocks_q8_0(queries, n_queries, key_counts, kv, head_dim, scale, out);
  } else {
    kernels::attend_tokens_blocks_bf16(queries, n_queries, key_counts, kv, head_dim, scale, out);
  }
}

}  // namespace

void PagedKv::store(int layer, const runtime::ForwardRow& row, const float* key,
                    const float* value) {
  const auto& table = *tables_[static_cast<std::size_t>(row.sequence)];
  pool_.store(table[static_cast<std::size_t>(row.position / kBlockPositions)],
              row.position % kBlockPositions, layer - first_layer_, key, value);
}

void PagedKv::attend(int layer, const runtime::ForwardRow& row, int kv_head, const float* queries,
                     int n_queries, float scale, float* out) const {
  const auto& table = *tables_[static_cast<std::size_t>(row.sequence)];
  const auto n_keys = static_cast<std::size_t>(row.position + 1);  // causal
  const auto head_dim = static_cast<std::size_t>(head_dim_);
  with_head_blocks(pool_, table, layer - first_layer_, kv_head, n_keys, head_dim,
                   [&](const auto& kv) {
                     attend_group_blocks(queries, static_cast<std::size_t>(n_queries), kv, n_keys,
                                         head_dim, scale, out);
                   });
}

void PagedKv::attend_rows(int layer, std::span<const runtime::ForwardRow> rows, int kv_head,
                          const float* queries, int n_queries, std::size_t head_dim, float scale,
                          float* out) const {
  const std::size_t row_values = static_cast<std::size_t>(n_queries) * head_dim;
  // Each run of rows of one sequence (a prompt's tokens) shares one pass over its keys.
  thread_local std::vector<std::size_t> key_counts;
  for (std::size_t first = 0; first < rows.size();) {
    std::size_t last = first + 1;
    while (last < rows.size() && rows[last].sequence == rows[first].sequence) ++last;
    key_counts.clear();
    std::size_t n_keys = 0;
    for (std::size_t r = first; r < last; ++r) {
      const auto count = static_cast<std::size_t>(rows[r].position + 1);  // causal
      key_counts.insert(key_counts.end(), static_cast<std::size_t>(n_queries), count);
      n_keys = std::max(n_keys, count);
    }
    const auto& table = *tables_[static_cast<std::size_t>(rows[first].sequence)];
    with_head_blocks(
        pool_, table, layer - first_layer_, kv_head, n_keys, head_dim, [&](const auto& kv) {
          attend_tokens_blocks(queries + first * row_values, key_counts.size(), key_counts.data(),
                               kv, head_dim, scale, out + first * row_values);
        });
    first = last;
  }
}

}  // namespace llama3::engine
