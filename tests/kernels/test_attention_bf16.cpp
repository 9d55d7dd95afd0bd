// Attention over a bf16 cache (attend_*_bf16): against the softmax in double over the same
// bf16-rounded keys and values at every arch level, and bit for bit between paged blocks and a
// contiguous cache. A prompt's shared pass against one-token calls: test_attention.cpp, with the
// other cache types.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/cpu_arch.hpp"
#include "kernels/kv_bf16.hpp"
#include "support/attention_reference.hpp"
#include "support/quant_test_support.hpp"

using namespace llama3::kernels;

namespace {

// Whether `arch` runs this head size with bf16 products (the AVX512-BF16 kernels), which round
// the query and the softmax weights to bf16; every other path widens the rows to f32.
bool multiplies_in_bf16(Arch arch, std::size_t head_dim) {
  return (arch == Arch::kAvx512 || arch == Arch::kAmx) && cpu_has_avx512_bf16() &&
         head_dim % 16 == 0 && head_dim <= 256;
}

struct Bf16Rows {
  std::vector<Bf16> stored;
  std::vector<float> values;  // what the stored rows stand for
};

Bf16Rows bf16_rows(const std::vector<float>& x) {
  Bf16Rows rows;
  for (const float value : x) {
    rows.stored.push_back(to_bf16(value));
    rows.values.push_back(bf16_value(rows.stored.back()));
  }
  return rows;
}

}  // namespace

// With bf16 products the query is rounded to bf16 (the reference does the same) and each weight
// is off by at most 2^-8 of itself (bf16 keeps 8 significant bits), so an output is within 2^-8
// of max|v| (about 0.015 for these values) plus f32 rounding; the f32 paths stay within 1e-5 as
// for an f16 cache.
TEST_CASE("bf16 cache attention matches a double softmax at every arch", "[kernels]") {
  const unsigned seed = 1606;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  // 48: a multiple of 16 but not of 32 (half a transposed key chunk); 40, 20, 6: the lower
  // levels' kernels and the portable loop.
  for (const std::size_t head_dim : {std::size_t{64}, std::size_t{128}, std::size_t{48},
                                     std::size_t{40}, std::size_t{20}, std::size_t{6}}) {
    const std::size_t stride = 2 * head_dim + 16;
    for (const std::size_t n_keys :
         {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{17}, std::size_t{300}}) {
      for (const std::size_t n_queries :
           {std::size_t{1}, std::size_t{4}, std::size_t{9}, std::size_t{19}}) {
        const auto queries = llama3::test::normal_values(rng, n_queries * head_dim, 0.5f);
        const Bf16Rows k = bf16_rows(llama3::test::normal_values(rng, n_keys * stride));
        const Bf16Rows v = bf16_rows(llama3::test::normal_values(rng, n_keys * stride));
        double max_value = 0.0;
        for (std::size_t j = 0; j < n_keys; ++j) {
          for (std::size_t d = 0; d < head_dim; ++d)
            max_value = std::max(max_value, double{std::fabs(v.values[j * stride + d])});
        }
        const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
        for (const Arch arch : runnable_archs()) {
          const bool bf16_products = multiplies_in_bf16(arch, head_dim);
          std::vector<float> out(n_queries * head_dim);
          attend_group_bf16(queries.data(), n_queries, k.stored.data(), v.stored.data(), stride,
                            n_keys, head_dim, scale, out.data(), arch);
          for (std::size_t r = 0; r < n_queries; ++r) {
            INFO("head_dim " << head_dim << ", n_keys " << n_keys << ", query " << r << " of "
                             << n_queries << ", arch " << arch_name(arch) << ", bf16 products "
                             << bf16_products);
            std::vector<float> query(queries.begin() + static_cast<long>(r * head_dim),
                                     queries.begin() + static_cast<long>((r + 1) * head_dim));
            if (bf16_products) {
              for (float& x : query) x = bf16_value(to_bf16(x));
            }
            const auto expected = llama3::test::exact_attention(query.data(), k.values, v.values,
                                                                stride, n_keys, head_dim, scale);
            for (std::size_t d = 0; d < head_dim; ++d) {
              const double tolerance = bf16_products ? std::ldexp(max_value, -8) + 1e-5
                                                     : 1e-5 * (1.0 + std::fabs(expected[d]));
              REQUIRE(std::fabs(out[r * head_dim + d] - expected[d]) <= tolerance);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("bf16 cache: paged blocks give the bits of a contiguous cache", "[kernels][engine]") {
  std::mt19937 rng(23);
  for (const std::size_t head_dim : {std::size_t{64}, std::size_t{128}, std::size_t{40}}) {
    // Multiples of kBf16AttentionKeyStep, as the engine's 32-position blocks are.
    for (const std::size_t block_positions : {std::size_t{32}, std::size_t{64}}) {
      const std::size_t n_keys = 75;
      const std::size_t n_blocks = (n_keys + block_positions - 1) / block_positions;
      const Bf16Rows k = bf16_rows(llama3::test::normal_values(rng, n_keys * head_dim));
      const Bf16Rows v = bf16_rows(llama3::test::normal_values(rng, n_keys * head_dim));
      // Blocks in reverse order in their arenas, as a pool might hand them out.
      const std::size_t block_elements = block_positions * head_dim;
      std::vector<Bf16> key_arena(n_blocks * block_elements, Bf16{0});
      std::vector<Bf16> value_arena(n_blocks * block_elements, Bf16{0});
      std::vector<const Bf16*> key_starts, value_starts;
      for (std::size_t b = 0; b < n_blocks; ++b) {
        const std::size_t slot = n_blocks - 1 - b;
        const std::size_t first = b * block_positions;
        const std::size_t count = std::min(block_positions, n_keys - first) * head_dim;
        std::copy_n(k.stored.data() + first * head_dim, count,
                    key_arena.data() + slot * block_elements);
        std::copy_n(v.stored.data() + first * head_dim, count,
                    value_arena.data() + slot * block_elements);
        key_starts.push_back(key_arena.data() + slot * block_elements);
        value_starts.push_back(value_arena.data() + slot * block_elements);
      }
      const KvBlocks<Bf16> kv{key_starts.data(), value_starts.data(), block_positions, head_dim};
      const std::size_t n_queries = 4;
      const auto queries = llama3::test::normal_values(rng, n_queries * head_dim, 0.5f);
      const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
      for (const Arch arch : runnable_archs()) {
        INFO("head_dim " << head_dim << ", block " << block_positions << ", arch "
                         << arch_name(arch));
        std::vector<float> paged(n_queries * head_dim), flat(n_queries * head_dim);
        attend_group_blocks_bf16(queries.data(), n_queries, kv, n_keys, head_dim, scale,
                                 paged.data(), arch);
        attend_group_bf16(queries.data(), n_queries, k.stored.data(), v.stored.data(), head_dim,
                          n_keys, head_dim, scale, flat.data(), arch);
        CHECK(std::memcmp(paged.data(), flat.data(), paged.size() * sizeof(float)) == 0);
      }
    }
  }
}
