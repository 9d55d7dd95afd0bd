#include "engine/kv_pool.hpp"

#include <cstring>
#include <string>

#include "llama3/error.hpp"
#include "runtime/kv_cache.hpp"

namespace llama3::engine {

KvPool::KvPool(int n_layers, int n_kv_heads, int head_dim, KvCacheType type, int n_blocks)
    : type_(type),
      n_layers_(n_layers),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim),
      head_row_bytes_(runtime::kv_row_bytes(type, static_cast<std::size_t>(head_dim))),
      head_run_bytes_(static_cast<std::size_t>(kBlockPositions) * head_row_bytes_),
      block_bytes_(head_run_bytes_ * 2 * static_cast<std::size_t>(n_layers) *
                   static_cast<std::size_t>(n_kv_heads)) {
  if (n_blocks <= 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "KV pool: needs at least one block, got " + std::to_string(n_blocks));
  }
  storage_ = kernels::PageBuffer(block_bytes_ * static_cast<std::size_t>(n_blocks));
  ref_counts_.assign(static_cast<std::size_t>(n_blocks), 0);
  free_.reserve(static_cast<std::size_t>(n_blocks));
  for (BlockId b = n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

BlockId KvPool::allocate() {
  if (free_.empty()) return kNoBlock;
  const BlockId block = free_.back();
  free_.pop_back();
  ref_counts_[static_cast<std::size_t>(block)] = 1;
  return block;
}

void KvPool::release(BlockId block) {
  int& count = ref_counts_[static_cast<std::size_t>(block)];
  if (count <= 0) {
    throw Error(ErrorCode::kInternal,
                "KV pool: block " + std::to_string(block) + " released more often than taken");
  }
  if (--count == 0) free_.push_back(block);
}

void KvPool::store(BlockId block, int slot, int layer, const float* key, const float* value) {
  const auto head_dim = static_cast<std::size_t>(head_dim_);
  const std::size_t row_offset = static_cast<std::size_t>(slot) * head_row_bytes_;
  for (int head = 0; head < n_kv_heads_; ++head) {
    runtime::store_kv_row(type_, key + head * head_dim_, head_dim,
                          storage_.data() + offset(block, layer, 0, head) + row_offset);
    runtime::store_kv_row(type_, value + head * head_dim_, head_dim,
                          storage_.data() + offset(block, layer, 1, head) + row_offset);
  }
}

void KvPool::copy_positions(BlockId from, BlockId to, int n_positions) {
  const std::size_t bytes = static_cast<std::size_t>(n_positions) * head_row_bytes_;
  for (int layer = 0; layer < n_layers_; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int head = 0; head < n_kv_heads_; ++head) {
        std::memcpy(storage_.data() + offset(to, layer, kind, head),
                    storage_.data() + offset(from, layer, kind, head), bytes);
      }
    }
  }
}

}  // namespace llama3::engine
