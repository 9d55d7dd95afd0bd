// The engine's KV memory: one pool of fixed-size blocks shared by every sequence. A block holds
// kBlockPositions consecutive positions of one sequence, for every layer, keys and values:
//
//   block [n_layers, 2 (keys, values), n_kv_heads, kBlockPositions, head_dim]  (f16, f32 or q8_0)
//
// so a GQA group's attention streams one contiguous run of kBlockPositions rows per block (4 KiB in
// the 1B shape at f16: one page, which the hardware prefetchers follow to its end). A block is
// shared by reference count (the prefix cache and every sequence reusing a cached prefix hold one);
// it returns to the free list when the last holder releases it.
//
// 32 positions: a multiple of the attention kernels' 16-key softmax group (kv_blocks.hpp), so paged
// and contiguous attention are bit-identical; small enough that a sequence wastes at most 31
// positions and a shared prefix is reused to within 31 tokens; large enough that the per-block
// pointer lists stay short (128 blocks at 4096 positions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/huge_page_arena.hpp"
#include "llama3/session.hpp"

namespace llama3::engine {

using BlockId = std::int32_t;
constexpr int kBlockPositions = 32;
constexpr BlockId kNoBlock = -1;

class KvPool {
 public:
  KvPool(int n_layers, int n_kv_heads, int head_dim, KvCacheType type, int n_blocks);

  KvCacheType type() const { return type_; }
  int n_blocks() const { return static_cast<int>(ref_counts_.size()); }
  int n_free() const { return static_cast<int>(free_.size()); }
  std::size_t block_bytes() const { return block_bytes_; }

  // A block with reference count 1, or kNoBlock when none is free.
  BlockId allocate();
  void retain(BlockId block) { ++ref_counts_[static_cast<std::size_t>(block)]; }
  // Drops one reference; the block is free again at zero.
  void release(BlockId block);
  int ref_count(BlockId block) const { return ref_counts_[static_cast<std::size_t>(block)]; }

  // Stores one position's key and value rows [n_kv_heads * head_dim] of `layer` at `slot` (<
  // kBlockPositions), rounded to the pool's type (runtime::store_kv_row).
  void store(BlockId block, int slot, int layer, const float* key, const float* value);
  // Copies positions [0, n_positions) of every layer from one block to another (copy-on-write of
  // a partly shared block).
  void copy_positions(BlockId from, BlockId to, int n_positions);

  // The first row of KV head `kv_head` of `layer` in `block`: [kBlockPositions, head_dim].
  const std::byte* head_keys(BlockId block, int layer, int kv_head) const {
    return storage_.data() + offset(block, layer, 0, kv_head);
  }
  const std::byte* head_values(BlockId block, int layer, int kv_head) const {
    return storage_.data() + offset(block, layer, 1, kv_head);
  }

 private:
  std::size_t offset(BlockId block, int layer, int kind, int kv_head) const {
    return static_cast<std::size_t>(block) * block_bytes_ +
           ((static_cast<std::size_t>(layer) * 2 + static_cast<std::size_t>(kind)) *
                static_cast<std::size_t>(n_kv_heads_) +
            static_cast<std::size_t>(kv_head)) *
               head_run_bytes_;
  }

  KvCacheType type_;
  int n_layers_;
  int n_kv_heads_;
  int head_dim_;
  std::size_t head_row_bytes_;  // one head's row at one position
  std::size_t head_run_bytes_;  // one head's kBlockPositions rows
  std::size_t block_bytes_;
  kernels::PageBuffer storage_;  // [n_blocks, block]; zero pages until first touched
  std::vector<int> ref_counts_;  // [n_blocks]
  std::vector<BlockId> free_;    // taken from the back: the lowest ids first
};

}  // namespace llama3::engine
