// attend_group_blocks_*: attention over keys/values scattered in fixed-size blocks (the engine's
// paged KV memory) against the exact double-precision softmax and, bit for bit, against the
// contiguous kernel over the same keys.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/half_float.hpp"
#include "support/attention_reference.hpp"
#include "support/quant_test_support.hpp"

using namespace llama3::kernels;

namespace {

// Copies contiguous rows [n_keys, head_dim] into blocks of block_positions rows placed in a
// shuffled order inside one arena (as a pool hands them out); returns the block starts in sequence
// order.
template <typename Element>
std::vector<const Element*> scatter_blocks(const std::vector<Element>& rows, std::size_t n_keys,
                                           std::size_t head_dim, std::size_t block_positions,
                                           std::vector<Element>& arena, std::mt19937& rng) {
  const std::size_t n_blocks = (n_keys + block_positions - 1) / block_positions;
  const std::size_t block_elements = block_positions * head_dim;
  arena.assign((n_blocks + 2) * block_elements, Element{});
  std::vector<std::size_t> slot(n_blocks + 2);
  std::iota(slot.begin(), slot.end(), 0);
  std::shuffle(slot.begin(), slot.end(), rng);
  std::vector<const Element*> starts;
  for (std::size_t b = 0; b < n_blocks; ++b) {
    Element* start = arena.data() + slot[b] * block_elements;
    const std::size_t first = b * block_positions;
    const std::size_t count = std::min(block_positions, n_keys - first);
    std::copy_n(rows.data() + first * head_dim, count * head_dim, start);
    starts.push_back(start);
  }
  return starts;
}

}  // namespace

TEST_CASE("attention over scattered blocks equals the exact softmax and the contiguous kernel",
          "[kernels][engine]") {
  const unsigned seed = 2026;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  // 64 and 128: Llama 3's head sizes; 40, 20 and 6 reach the AVX2, SSE4 and portable paths.
  for (const std::size_t head_dim :
       {std::size_t{64}, std::size_t{128}, std::size_t{40}, std::size_t{20}, std::size_t{6}}) {
    for (const std::size_t block_positions : {std::size_t{16}, std::size_t{32}}) {
      for (const std::size_t n_keys :
           {std::size_t{1}, std::size_t{15}, std::size_t{33}, std::size_t{97}}) {
        for (const std::size_t n_queries : {std::size_t{1}, std::size_t{4}, std::size_t{17}}) {
          const auto queries = llama3::test::normal_values(rng, n_queries * head_dim, 0.5f);
          const auto k = llama3::test::normal_values(rng, n_keys * head_dim);
          const auto v = llama3::test::normal_values(rng, n_keys * head_dim);
          std::vector<std::uint16_t> k16(k.size()), v16(v.size());
          std::vector<float> kr(k.size()), vr(v.size());
          for (std::size_t i = 0; i < k.size(); ++i) {
            k16[i] = f32_to_f16(k[i]), v16[i] = f32_to_f16(v[i]);
            kr[i] = f16_to_f32(k16[i]), vr[i] = f16_to_f32(v16[i]);
          }
          std::vector<std::uint16_t> key_arena16, value_arena16;
          std::vector<float> key_arena32, value_arena32;
          std::mt19937 placement(seed + static_cast<unsigned>(n_keys));
          const auto keys16 =
              scatter_blocks(k16, n_keys, head_dim, block_positions, key_arena16, placement);
          const auto values16 =
              scatter_blocks(v16, n_keys, head_dim, block_positions, value_arena16, placement);
          const auto keys32 =
              scatter_blocks(kr, n_keys, head_dim, block_positions, key_arena32, placement);
          const auto values32 =
              scatter_blocks(vr, n_keys, head_dim, block_positions, value_arena32, placement);
          const KvBlocks<std::uint16_t> kv16{keys16.data(), values16.data(), block_positions,
                                             head_dim};
          const KvBlocks<float> kv32{keys32.data(), values32.data(), block_positions, head_dim};
          const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
          for (const Arch arch : runnable_archs()) {
            const std::size_t n_out = n_queries * head_dim;
            std::vector<float> paged16(n_out), paged32(n_out), flat16(n_out), flat32(n_out);
            attend_group_blocks_f16(queries.data(), n_queries, kv16, n_keys, head_dim, scale,
                                    paged16.data(), arch);
            attend_group_blocks_f32(queries.data(), n_queries, kv32, n_keys, head_dim, scale,
                                    paged32.data(), arch);
            attend_group_f16(queries.data(), n_queries, k16.data(), v16.data(), head_dim, n_keys,
                             head_dim, scale, flat16.data(), arch);
            attend_group_f32(queries.data(), n_queries, kr.data(), vr.data(), head_dim, n_keys,
                             head_dim, scale, flat32.data(), arch);
            INFO("head_dim " << head_dim << ", block " << block_positions << ", n_keys " << n_keys
                             << ", n_queries " << n_queries << ", arch " << arch_name(arch));
            REQUIRE(std::memcmp(paged16.data(), flat16.data(), n_out * sizeof(float)) == 0);
            REQUIRE(std::memcmp(paged32.data(), flat32.data(), n_out * sizeof(float)) == 0);
            for (std::size_t r = 0; r < n_queries; ++r) {
              const auto expected = llama3::test::exact_attention(
                  queries.data() + r * head_dim, kr, vr, head_dim, n_keys, head_dim, scale);
              for (std::size_t d = 0; d < head_dim; ++d) {
                const double tolerance = 1e-5 * (1.0 + std::fabs(expected[d]));
                REQUIRE(std::fabs(paged16[r * head_dim + d] - expected[d]) <= tolerance);
                REQUIRE(std::fabs(paged32[r * head_dim + d] - expected[d]) <= tolerance);
              }
            }
          }
        }
      }
    }
  }
}
