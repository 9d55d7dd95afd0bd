#include "runtime/kv_cache.hpp"

#include <cstring>

namespace llama3::runtime {

KvCache::KvCache(int n_layers, int n_ctx, int kv_dim, KvCacheType type)
    : type_(type),
      n_layers_(n_layers),
      n_ctx_(n_ctx),
      kv_dim_(kv_dim),
      row_bytes_(static_cast<std::size_t>(kv_dim) * (type == KvCacheType::kF16 ? 2 : 4)) {
  const std::size_t total =
      static_cast<std::size_t>(n_layers) * static_cast<std::size_t>(n_ctx) * row_bytes_;
  keys_.resize(total);
  values_.resize(total);
}

void KvCache::store(int layer, int position, const float* key, const float* value) {
  std::byte* key_out = keys_.data() + offset(layer, position);
  std::byte* value_out = values_.data() + offset(layer, position);
  if (type_ == KvCacheType::kF32) {
    std::memcpy(key_out, key, row_bytes_);
    std::memcpy(value_out, value, row_bytes_);
    return;
  }
  auto* key_half = reinterpret_cast<std::uint16_t*>(key_out);
  auto* value_half = reinterpret_cast<std::uint16_t*>(value_out);
  for (int i = 0; i < kv_dim_; ++i) {
    key_half[i] = kernels::f32_to_f16(key[i]);
    value_half[i] = kernels::f32_to_f16(value[i]);
  }
}

}  // namespace llama3::runtime
