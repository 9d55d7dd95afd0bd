// Keys and values of every past position, per layer, stored as f16 (default) or f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/half_float.hpp"
#include "llama3/session.hpp"

namespace llama3::runtime {

class KvCache {
 public:
  KvCache(int n_layers, int n_ctx, int kv_dim, KvCacheType type);

  KvCacheType type() const { return type_; }
  int n_ctx() const { return n_ctx_; }
  int kv_dim() const { return kv_dim_; }

  // Stores the key and value rows [kv_dim] of one position.
  void store(int layer, int position, const float* key, const float* value);

  // Rows of one position: [kv_dim] elements of type float (kF32) or f16 bits (kF16).
  const void* key_row(int layer, int position) const { return row(keys_, layer, position); }
  const void* value_row(int layer, int position) const { return row(values_, layer, position); }

  std::size_t bytes() const { return keys_.size() + values_.size(); }
  std::size_t row_bytes() const { return row_bytes_; }
  int n_layers() const { return n_layers_; }
  // Mutable rows, for restoring saved state.
  std::byte* key_row_mut(int layer, int position) { return keys_.data() + offset(layer, position); }
  std::byte* value_row_mut(int layer, int position) {
    return values_.data() + offset(layer, position);
  }

 private:
  const void* row(const std::vector<std::byte>& storage, int layer, int position) const {
    return storage.data() + offset(layer, position);
  }
  std::size_t offset(int layer, int position) const {
    return (static_cast<std::size_t>(layer) * static_cast<std::size_t>(n_ctx_) +
            static_cast<std::size_t>(position)) *
           row_bytes_;
  }

  KvCacheType type_;
  int n_layers_;
  int n_ctx_;
  int kv_dim_;
  std::size_t row_bytes_;
  std::vector<std::byte> keys_;    // [n_layers, n_ctx, kv_dim]
  std::vector<std::byte> values_;  // [n_layers, n_ctx, kv_dim]
};

}  // namespace llama3::runtime
