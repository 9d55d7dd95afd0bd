#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "kernels/half_float.hpp"
#include "runtime/kv_cache.hpp"

using llama3::KvCacheType;
using llama3::runtime::KvCache;

namespace {

// A distinct value for every (layer, position, element), exact in f16.
float sample_value(int layer, int position, int element, bool is_value) {
  return static_cast<float>((layer * 100 + position * 10 + element) % 512) * 0.25f +
         (is_value ? 0.125f : 0.0f);
}

}  // namespace

TEST_CASE("KvCache keeps each KV head's positions contiguous and round-trips rows", "[runtime]") {
  const int n_layers = 2, n_ctx = 5, n_kv_heads = 3, head_dim = 4, kv_dim = n_kv_heads * head_dim;
  for (const KvCacheType type : {KvCacheType::kF32, KvCacheType::kF16}) {
    INFO("type " << (type == KvCacheType::kF16 ? "f16" : "f32"));
    KvCache cache(n_layers, n_ctx, n_kv_heads, head_dim, type);
    for (int layer = 0; layer < n_layers; ++layer) {
      for (int pos = 0; pos < n_ctx; ++pos) {
        std::vector<float> key(kv_dim), value(kv_dim);
        for (int e = 0; e < kv_dim; ++e) {
          key[e] = sample_value(layer, pos, e, false);
          value[e] = sample_value(layer, pos, e, true);
        }
        cache.store(layer, pos, key.data(), value.data());
      }
    }
    const auto element = [&](const void* head, int pos, int d) {
      if (type == KvCacheType::kF32) return static_cast<const float*>(head)[pos * head_dim + d];
      return llama3::kernels::f16_to_f32(
          static_cast<const std::uint16_t*>(head)[pos * head_dim + d]);
    };
    // Attention reads head h as n_ctx rows of head_dim, back to back.
    for (int layer = 0; layer < n_layers; ++layer) {
      for (int head = 0; head < n_kv_heads; ++head) {
        for (int pos = 0; pos < n_ctx; ++pos) {
          for (int d = 0; d < head_dim; ++d) {
            const int e = head * head_dim + d;
            REQUIRE(element(cache.head_keys(layer, head), pos, d) ==
                    sample_value(layer, pos, e, false));
            REQUIRE(element(cache.head_values(layer, head), pos, d) ==
                    sample_value(layer, pos, e, true));
          }
        }
      }
    }
    // Saved state reads and writes position-major rows; a copy into a second cache is exact.
    KvCache copy(n_layers, n_ctx, n_kv_heads, head_dim, type);
    std::vector<std::byte> row(cache.row_bytes()), again(cache.row_bytes());
    for (int layer = 0; layer < n_layers; ++layer) {
      for (int pos = 0; pos < n_ctx; ++pos) {
        cache.copy_key_row(layer, pos, row.data());
        // The saved row is position-major: element e of [kv_dim] is head e / head_dim's.
        for (int e = 0; e < kv_dim; ++e) {
          const float saved = type == KvCacheType::kF32
                                  ? reinterpret_cast<const float*>(row.data())[e]
                                  : llama3::kernels::f16_to_f32(
                                        reinterpret_cast<const std::uint16_t*>(row.data())[e]);
          REQUIRE(saved == sample_value(layer, pos, e, false));
        }
        copy.set_key_row(layer, pos, row.data());
        copy.copy_key_row(layer, pos, again.data());
        REQUIRE(std::memcmp(row.data(), again.data(), row.size()) == 0);
        cache.copy_value_row(layer, pos, row.data());
        copy.set_value_row(layer, pos, row.data());
        copy.copy_value_row(layer, pos, again.data());
        REQUIRE(std::memcmp(row.data(), again.data(), row.size()) == 0);
      }
    }
    for (int layer = 0; layer < n_layers; ++layer) {
      for (int head = 0; head < n_kv_heads; ++head) {
        const std::size_t bytes = static_cast<std::size_t>(n_ctx) * cache.row_bytes() / n_kv_heads;
        REQUIRE(std::memcmp(cache.head_keys(layer, head), copy.head_keys(layer, head), bytes) == 0);
        REQUIRE(std::memcmp(cache.head_values(layer, head), copy.head_values(layer, head), bytes) ==
                0);
      }
    }
  }
}
