#include "runtime/kv_cache.hpp"

#include <cstring>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/half_float.hpp"
#include "kernels/kv_bf16.hpp"
#include "kernels/kv_q8_0.hpp"

namespace llama3::runtime {

KvCache::KvCache(int n_layers, int n_ctx, int n_kv_heads, int head_dim, KvCacheType type)
    : type_(type),
      n_layers_(n_layers),
      n_ctx_(n_ctx),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim),
      head_bytes_(kv_row_bytes(type, static_cast<std::size_t>(head_dim))) {
  const std::size_t total = static_cast<std::size_t>(n_layers) *
                            static_cast<std::size_t>(n_kv_heads) * static_cast<std::size_t>(n_ctx) *
                            head_bytes_;
  keys_ = kernels::PageBuffer(total);
  values_ = kernels::PageBuffer(total);
}

std::size_t kv_row_bytes(KvCacheType type, std::size_t n) {
  switch (type) {
    case KvCacheType::kF32:
      return n * sizeof(float);
    case KvCacheType::kQ8_0:
      return kernels::q8_0_row_blocks(n) * sizeof(kernels::BlockQ8_0);
    case KvCacheType::kBf16:
    case KvCacheType::kF16:
      break;
  }
  return n * sizeof(std::uint16_t);
}

const char* kv_cache_type_name(KvCacheType type) {
  switch (type) {
    case KvCacheType::kF32:
      return "f32";
    case KvCacheType::kQ8_0:
      return "q8_0";
    case KvCacheType::kBf16:
      return "bf16";
    case KvCacheType::kF16:
      break;
  }
  return "f16";
}

void store_kv_row(KvCacheType type, const float* row, std::size_t n, std::byte* out) {
  switch (type) {
    case KvCacheType::kF32:
      std::memcpy(out, row, n * sizeof(float));
      return;
    case KvCacheType::kQ8_0:
      kernels::quantize_q8_0_row(row, n, reinterpret_cast<kernels::BlockQ8_0*>(out));
      return;
    case KvCacheType::kBf16: {
      auto* bf16 = reinterpret_cast<kernels::Bf16*>(out);
      for (std::size_t i = 0; i < n; ++i) bf16[i] = kernels::to_bf16(row[i]);
      return;
    }
    case KvCacheType::kF16:
      break;
  }
  auto* half = reinterpret_cast<std::uint16_t*>(out);
  for (std::size_t i = 0; i < n; ++i) half[i] = kernels::f32_to_f16(row[i]);
}

void load_kv_row(KvCacheType type, const std::byte* stored, std::size_t n, float* out) {
  switch (type) {
    case KvCacheType::kF32:
      std::memcpy(out, stored, n * sizeof(float));
      return;
    case KvCacheType::kQ8_0:
      kernels::dequantize_q8_0_row(reinterpret_cast<const kernels::BlockQ8_0*>(stored), n, out);
      return;
    case KvCacheType::kBf16: {
      const auto* bf16 = reinterpret_cast<const kernels::Bf16*>(stored);
      for (std::size_t i = 0; i < n; ++i) out[i] = kernels::bf16_value(bf16[i]);
      return;
    }
    case KvCacheType::kF16:
      break;
  }
  const auto* half = reinterpret_cast<const std::uint16_t*>(stored);
  for (std::size_t i = 0; i < n; ++i) out[i] = kernels::f16_to_f32(half[i]);
}

void KvCache::store(int layer, int position, const float* key, const float* value) {
  const auto head_dim = static_cast<std::size_t>(head_dim_);
  for (int head = 0; head < n_kv_heads_; ++head) {
    store_kv_row(type_, key + head * head_dim_, head_dim,
                 keys_.data() + offset(layer, head, position));
    store_kv_row(type_, value + head * head_dim_, head_dim,
                 values_.data() + offset(layer, head, position));
  }
}

void KvCache::attend(int layer, const ForwardRow& row, int kv_head, const float* queries,
                     int n_queries, float scale, float* out) const {
  const auto head_dim = static_cast<std::size_t>(head_dim_);
  const auto n_keys = static_cast<std::size_t>(row.position + 1);  // causal
  if (type_ == KvCacheType::kF16) {
    kernels::attend_group_f16(queries, static_cast<std::size_t>(n_queries),
                              static_cast<const std::uint16_t*>(head_keys(layer, kv_head)),
                              static_cast<const std::uint16_t*>(head_values(layer, kv_head)),
                              head_dim, n_keys, head_dim, scale, out);
  } else if (type_ == KvCacheType::kQ8_0) {
    kernels::attend_group_q8_0(queries, static_cast<std::size_t>(n_queries),
                               static_cast<const kernels::BlockQ8_0*>(head_keys(layer, kv_head)),
                               static_cast<const kernels::BlockQ8_0*>(head_values(layer, kv_head)),
                               kernels::q8_0_row_blocks(head_dim), n_keys, head_dim, scale, out);
  } else if (type_ == KvCacheType::kBf16) {
    kernels::attend_group_bf16(queries, static_cast<std::size_t>(n_queries),
                               static_cast<const kernels::Bf16*>(head_keys(layer, kv_head)),
                               static_cast<const kernels::Bf16*>(head_values(layer, kv_head)),
                               head_dim, n_keys, head_dim, scale, out);
  } else {
    kernels::attend_group_f32(queries, static_cast<std::size_t>(n_queries),
                              static_cast<const float*>(head_keys(layer, kv_head)),
                              static_cast<const float*>(head_values(layer, kv_head)), head_dim,
                              n_keys, head_dim, scale, out);
  }
}

void KvCache::attend_rows(int layer, std::span<const ForwardRow> rows, int kv_head,
                          const float* queries, int n_queries, std::size_t head_dim, float scale,
                          float* out) const {
  // Query h of row r sees positions 0..rows[r].position. Reused per thread: no allocation per
  // token once grown.
  thread_local std::vector<std::size_t> key_counts;
  key_counts.clear();
  for (const ForwardRow& row : rows) {
    key_counts.insert(key_counts.end(), static_cast<std::size_t>(n_queries),
                      static_cast<std::size_t>(row.position + 1));
  }
  const std::size_t n = key_counts.size();
  if (type_ == KvCacheType::kF16) {
    kernels::attend_tokens_f16(queries, n, key_counts.data(),
                               static_cast<const std::uint16_t*>(head_keys(layer, kv_head)),
                               static_cast<const std::uint16_t*>(head_values(layer, kv_head)),
                               head_dim, head_dim, scale, out);
  } else if (type_ == KvCacheType::kQ8_0) {
    kernels::attend_tokens_q8_0(queries, n, key_counts.data(),
                                static_cast<const kernels::BlockQ8_0*>(head_keys(layer, kv_head)),
                                static_cast<const kernels::BlockQ8_0*>(head_values(layer, kv_head)),
                                kernels::q8_0_row_blocks(head_dim), head_dim, scale, out);
  } else if (type_ == KvCacheType::kBf16) {
    kernels::attend_tokens_bf16(queries, n, key_counts.data(),
                                static_cast<const kernels::Bf16*>(head_keys(layer, kv_head)),
                                static_cast<const kernels::Bf16*>(head_values(layer, kv_head)),
                                head_dim, head_dim, scale, out);
  } else {
    kernels::attend_tokens_f32(
        queries, n, key_counts.data(), static_cast<const float*>(head_keys(layer, kv_head)),
        static_cast<const float*>(head_values(layer, kv_head)), head_dim, head_dim, scale, out);
  }
}

void KvCache::gather_row(const kernels::PageBuffer& storage, int layer, int position,
                         std::byte* out) const {
  for (int head = 0; head < n_kv_heads_; ++head) {
    std::memcpy(out + static_cast<std::size_t>(head) * head_bytes_,
                storage.data() + offset(layer, head, position), head_bytes_);
  }
}

void KvCache::scatter_row(kernels::PageBuffer& storage, int layer, int position,
                          const std::byte* row) {
  for (int head = 0; head < n_kv_heads_; ++head) {
    std::memcpy(storage.data() + offset(layer, head, position),
                row + static_cast<std::size_t>(head) * head_bytes_, head_bytes_);
  }
}

void KvCache::move_positions(int from, int to, int count) {
  if (count <= 0 || from == to) return;
  const std::size_t bytes = static_cast<std::size_t>(count) * head_bytes_;
  for (int layer = 0; layer < n_layers_; ++layer) {
    for (int head = 0; head < n_kv_heads_; ++head) {
      // Each head's positions are one contiguous run, so one memmove moves them all.
      std::memmove(keys_.data() + offset(layer, head, to), keys_.data() + offset(layer, head, from),
                   bytes);
      std::memmove(values_.data() + offset(layer, head, to),
                   values_.data() + offset(layer, head, from), bytes);
    }
  }
}

void KvCache::rotate_keys(int layer, int first, int count, RopeFunction rope, const float* cos,
                          const float* sin) {
  std::vector<float> key(static_cast<std::size_t>(head_dim_));  // [head_dim] one head's key
  for (int head = 0; head < n_kv_heads_; ++head) {
    for (int position = first; position < first + count; ++position) {
      std::byte* stored = keys_.data() + offset(layer, head, position);
      if (type_ == KvCacheType::kF32) {
        rope(reinterpret_cast<float*>(stored), 1, static_cast<std::size_t>(head_dim_), cos, sin);
        continue;
      }
      // Rounded again after the rotation (q8_0: to new block scales).
      load_kv_row(type_, stored, key.size(), key.data());
      rope(key.data(), 1, key.size(), cos, sin);
      store_kv_row(type_, key.data(), key.size(), stored);
    }
  }
}

}  // namespace llama3::runtime
