// Keys and values of every past position, per layer, stored as f16 (default), f32, q8_0
// (kernels/kv_q8_0.hpp: each head's row rounded to 8-bit blocks as it is stored) or bf16
// (kernels/kv_bf16.hpp).
//
// Layout [n_layers, n_kv_heads, n_ctx, head_dim]: each KV head's keys (and values) are one
// contiguous run, so a GQA group's attention streams them. Kept position-major ([n_ctx, kv_dim]),
// one head's 128-byte rows sat 1 KiB apart in the 1B shape: the hardware prefetchers fetched
// neighbouring heads' rows that were evicted before their turn, and a 4096-token context's
// attention read the cache at about 1.3 GB/s (bench/attention_probe).
//
// The storage is huge-page memory that is zero until touched: a session sized for a long context
// costs only the positions it has used.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/huge_page_arena.hpp"
#include "llama3/session.hpp"
#include "runtime/kv_memory.hpp"

namespace llama3::runtime {

// Bytes of one head's row of n values as `type` keeps it.
std::size_t kv_row_bytes(KvCacheType type, std::size_t n);
// Stores one head's row [n] as the cache keeps it: f32 as is, rounded to f16 or bf16 bits, or
// rounded to q8_0 blocks. out: kv_row_bytes(type, n) bytes.
void store_kv_row(KvCacheType type, const float* row, std::size_t n, std::byte* out);
// The values a stored row stands for: out [n].
void load_kv_row(KvCacheType type, const std::byte* stored, std::size_t n, float* out);
// "f16", "f32", "q8_0" or "bf16".
const char* kv_cache_type_name(KvCacheType type);

class KvCache final : public KvMemory {
 public:
  KvCache(int n_layers, int n_ctx, int n_kv_heads, int head_dim, KvCacheType type);

  // KvMemory: one sequence, rows at their positions.
  void store(int layer, const ForwardRow& row, const float* key, const float* value) override {
    store(layer, row.position, key, value);
  }
  void attend(int layer, const ForwardRow& row, int kv_head, const float* queries, int n_queries,
              float scale, float* out) const override;
  // Every row's queries in one pass over the head's keys (kernels::attend_tokens_*).
  void attend_rows(int layer, std::span<const ForwardRow> rows, int kv_head, const float* queries,
                   int n_queries, std::size_t head_dim, float scale, float* out) const override;

  KvCacheType type() const { return type_; }
  int n_ctx() const { return n_ctx_; }
  int n_layers() const { return n_layers_; }
  int kv_dim() const { return n_kv_heads_ * head_dim_; }
  std::size_t bytes() const { return keys_.size() + values_.size(); }
  // Bytes of one position's keys (or values) over all KV heads.
  std::size_t row_bytes() const { return head_bytes_ * static_cast<std::size_t>(n_kv_heads_); }

  // Stores the key and value rows [kv_dim] of one position (heads in order), rounded to the
  // cache's type.
  void store(int layer, int position, const float* key, const float* value);

  // One KV head's keys/values: [n_ctx, head_dim] elements, float (kF32), f16 bits (kF16), bf16
  // (kBf16) or, per position, q8_0_row_blocks(head_dim) blocks (kQ8_0).
  const void* head_keys(int layer, int kv_head) const {
    return keys_.data() + offset(layer, kv_head);
  }
  const void* head_values(int layer, int kv_head) const {
    return values_.data() + offset(layer, kv_head);
  }

  // Moves the keys and values of positions [from, from + count) to [to, to + count) in every
  // layer and head (to < from: the context shift closes a gap).
  void move_positions(int from, int to, int count);

  // Rotates the stored keys of positions [first, first + count) of one layer by one more RoPE
  // angle per pair, given as cos/sin [head_dim / 2] (the context shift moves keys to earlier
  // positions by rotating them back). `rope` is the model's pair layout.
  using RopeFunction = void (*)(float* x, std::size_t n_heads, std::size_t head_dim,
                                const float* cos, const float* sin);
  void rotate_keys(int layer, int first, int count, RopeFunction rope, const float* cos,
                   const float* sin);

  // Position-major copies for saved session state: one position's [kv_dim] row as stored.
  void copy_key_row(int layer, int position, std::byte* out) const {
    gather_row(keys_, layer, position, out);
  }
  void copy_value_row(int layer, int position, std::byte* out) const {
    gather_row(values_, layer, position, out);
  }
  void set_key_row(int layer, int position, const std::byte* row) {
    scatter_row(keys_, layer, position, row);
  }
  void set_value_row(int layer, int position, const std::byte* row) {
    scatter_row(values_, layer, position, row);
  }

 private:
  void gather_row(const kernels::PageBuffer& storage, int layer, int position,
                  std::byte* out) const;
  void scatter_row(kernels::PageBuffer& storage, int layer, int position, const std::byte* row);
  std::size_t offset(int layer, int kv_head) const {
    return (static_cast<std::size_t>(layer) * static_cast<std::size_t>(n_kv_heads_) +
            static_cast<std::size_t>(kv_head)) *
           static_cast<std::size_t>(n_ctx_) * head_bytes_;
  }
  std::size_t offset(int layer, int kv_head, int position) const {
    return offset(layer, kv_head) + static_cast<std::size_t>(position) * head_bytes_;
  }

  KvCacheType type_;
  int n_layers_;
  int n_ctx_;
  int n_kv_heads_;
  int head_dim_;
  std::size_t head_bytes_;      // one head's row at one position
  kernels::PageBuffer keys_;    // [n_layers, n_kv_heads, n_ctx, head_dim]
  kernels::PageBuffer values_;  // [n_layers, n_kv_heads, n_ctx, head_dim]
};

}  // namespace llama3::runtime
