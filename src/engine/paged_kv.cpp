#include "engine/paged_kv.hpp"

#include <cstdint>

#include "kernels/attention.hpp"
#include "kernels/kv_q8_0.hpp"

// A sequence's blocks and a lone Session's contiguous cache give the same bits only when every
// softmax step of the attention kernels lies inside one block (kernels/kv_blocks.hpp).
static_assert(llama3::engine::kBlockPositions % llama3::kernels::kAttentionKeyBlock == 0 &&
              llama3::engine::kBlockPositions % llama3::kernels::kBf16AttentionKeyStep == 0);

namespace llama3::engine {
namespace {

// Attention over the first n_keys positions of `table` for one KV head, the pool's rows read as
// `Element` (f16 bits, floats or q8_0 blocks, kv_pool.hpp), `stride` Elements apart.
template <typename Element, typename Kernel>
void attend_table(const KvPool& pool, const std::vector<BlockId>& table, int layer, int kv_head,
                  const float* queries, std::size_t n_queries, std::size_t n_keys,
                  std::size_t head_dim, std::size_t stride, float scale, float* out,
                  Kernel kernel) {
  const std::size_t n_blocks = (n_keys + kBlockPositions - 1) / kBlockPositions;
  // Block starts of this head; per thread, grown once.
  thread_local std::vector<const Element*> keys, values;
  keys.resize(n_blocks);
  values.resize(n_blocks);
  for (std::size_t b = 0; b < n_blocks; ++b) {
    keys[b] = reinterpret_cast<const Element*>(pool.head_keys(table[b], layer, kv_head));
    values[b] = reinterpret_cast<const Element*>(pool.head_values(table[b], layer, kv_head));
  }
  const kernels::KvBlocks<Element> kv{keys.data(), values.data(), kBlockPositions, stride};
  kernel(queries, n_queries, kv, n_keys, head_dim, scale, out, kernels::active_arch());
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
  layer -= first_layer_;
  const auto n_keys = static_cast<std::size_t>(row.position + 1);  // causal
  const auto n = static_cast<std::size_t>(n_queries);
  const auto head_dim = static_cast<std::size_t>(head_dim_);
  switch (pool_.type()) {
    case KvCacheType::kF16:
      return attend_table<std::uint16_t>(pool_, table, layer, kv_head, queries, n, n_keys, head_dim,
                                         head_dim, scale, out, &kernels::attend_group_blocks_f16);
    case KvCacheType::kQ8_0:
      return attend_table<kernels::BlockQ8_0>(pool_, table, layer, kv_head, queries, n, n_keys,
                                              head_dim, kernels::q8_0_row_blocks(head_dim), scale,
                                              out, &kernels::attend_group_blocks_q8_0);
    case KvCacheType::kF32:
      return attend_table<float>(pool_, table, layer, kv_head, queries, n, n_keys, head_dim,
                                 head_dim, scale, out, &kernels::attend_group_blocks_f32);
    case KvCacheType::kBf16:
      return attend_table<kernels::Bf16>(pool_, table, layer, kv_head, queries, n, n_keys, head_dim,
                                         head_dim, scale, out, &kernels::attend_group_blocks_bf16);
  }
}

}  // namespace llama3::engine
