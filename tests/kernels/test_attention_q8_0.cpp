// The q8_0 KV cache's rows (kv_q8_0.hpp) and attention over them: rows round within q8_0's bound;
// at every arch level the CPU runs, attention over q8_0 rows equals, bit for bit, the f32 kernel
// of the same level over the dequantized rows (the widened values are exact), or, where the level
// scores with integer dot products (attention_rounds_q8_0_queries), the f32 kernel over the
// dequantized rows with each query rounded to q8_0, to f32 rounding; contiguous or in blocks, at
// odd sizes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/kv_q8_0.hpp"
#include "support/quant_test_support.hpp"

using namespace llama3::kernels;

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// n_rows rows of n values quantized to q8_0 rows of `stride` blocks, and their dequantized values
// as f32 rows of stride * 32 values (the f32 kernel's stride in elements).
struct Q8Rows {
  std::vector<BlockQ8_0> blocks;  // [n_rows, stride]
  std::vector<float> values;      // [n_rows, stride * 32]
};

Q8Rows make_rows(std::mt19937& rng, std::size_t n_rows, std::size_t n, std::size_t stride) {
  Q8Rows rows;
  rows.blocks.resize(n_rows * stride);
  rows.values.assign(n_rows * stride * kLegacyBlockValues, 0.0f);
  const auto x = llama3::test::normal_values(rng, n_rows * n);
  for (std::size_t r = 0; r < n_rows; ++r) {
    quantize_q8_0_row(x.data() + r * n, n, rows.blocks.data() + r * stride);
    dequantize_q8_0_row(rows.blocks.data() + r * stride, n,
                        rows.values.data() + r * stride * kLegacyBlockValues);
  }
  return rows;
}

}  // namespace

TEST_CASE("a q8_0 KV row rounds each value within its block's bound", "[kernels]") {
  const unsigned seed = 17;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (const std::size_t n : {std::size_t{8}, std::size_t{32}, std::size_t{40}, std::size_t{128}}) {
    auto x = llama3::test::normal_values(rng, n, 3.0f);
    x[n / 2] = 0.0f;
    std::vector<BlockQ8_0> row(q8_0_row_blocks(n));
    std::vector<float> back(n);
    quantize_q8_0_row(x.data(), n, row.data());
    dequantize_q8_0_row(row.data(), n, back.data());
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t first = i / 32 * 32;
      float amax = 0.0f;
      for (std::size_t k = first; k < std::min(n, first + 32); ++k)
        amax = std::max(amax, std::fabs(x[k]));
      // d / 2 from rounding q, plus 127 quants times the f16 rounding of d (2^-11 d).
      const float d = amax / 127.0f;
      INFO("n " << n << ", value " << i);
      REQUIRE(std::fabs(back[i] - x[i]) <= d * (0.5f + 127.0f / 2048.0f) + 1e-7f);
    }
    CHECK(back[n / 2] == 0.0f);
  }
  // A short row pads its block with zeros: the scale is that of its own values.
  const float short_row[8] = {0.5f, -1.27f, 0, 0, 0, 0, 0, 0.25f};
  BlockQ8_0 block;
  quantize_q8_0_row(short_row, 8, &block);
  CHECK(block.qs[1] == -127);
  CHECK(std::all_of(block.qs.begin() + 8, block.qs.end(), [](std::int8_t q) { return q == 0; }));
}

// The query as the integer-score kernels see it: rounded to q8_0 and back.
std::vector<float> rounded_queries(const std::vector<float>& queries, std::size_t head_dim) {
  std::vector<float> out(queries.size());
  std::vector<BlockQ8_0> row(q8_0_row_blocks(head_dim));
  for (std::size_t at = 0; at < queries.size(); at += head_dim) {
    quantize_q8_0_row(queries.data() + at, head_dim, row.data());
    dequantize_q8_0_row(row.data(), head_dim, out.data() + at);
  }
  return out;
}

TEST_CASE("q8_0 attention equals the f32 kernel over the dequantized rows at every arch",
          "[kernels]") {
  const unsigned seed = 23;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  // 64 and 128 are Llama 3's head sizes; 40 goes to the AVX2 kernel under AVX-512, 20 to SSE4,
  // 8 (stories260K) and 6 to the portable loop where no level takes them.
  for (const std::size_t head_dim : {std::size_t{64}, std::size_t{128}, std::size_t{40},
                                     std::size_t{20}, std::size_t{8}, std::size_t{6}}) {
    const std::size_t stride = q8_0_row_blocks(head_dim) + 1;  // rows apart by more than a row
    for (const std::size_t n_keys :
         {std::size_t{1}, std::size_t{7}, std::size_t{17}, std::size_t{300}}) {
      const Q8Rows keys = make_rows(rng, n_keys, head_dim, stride);
      const Q8Rows values = make_rows(rng, n_keys, head_dim, stride);
      for (const std::size_t n_queries :
           {std::size_t{1}, std::size_t{4}, std::size_t{5}, std::size_t{19}}) {
        auto queries = llama3::test::normal_values(rng, n_queries * head_dim, 0.5f);
        // Hostile rows for the query's rounding: all zero (a zero scale), and one with a single
        // large entry (every other quant rounds to zero).
        if (n_queries >= 4) {
          std::fill_n(queries.begin() + head_dim, head_dim, 0.0f);
          queries[2 * head_dim + head_dim / 2] = 40.0f;
        }
        const auto rounded = rounded_queries(queries, head_dim);
        const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
        for (const Arch arch : runnable_archs()) {
          const bool rounds = attention_rounds_q8_0_queries(head_dim, arch);
          INFO("head_dim " << head_dim << ", n_keys " << n_keys << ", n_queries " << n_queries
                           << ", arch " << arch_name(arch) << ", rounds queries " << rounds);
          std::vector<float> q8(n_queries * head_dim), f32(n_queries * head_dim);
          std::vector<float> scalar(n_queries * head_dim);
          const std::vector<float>& seen = rounds ? rounded : queries;
          attend_group_q8_0(queries.data(), n_queries, keys.blocks.data(), values.blocks.data(),
                            stride, n_keys, head_dim, scale, q8.data(), arch);
          attend_group_f32(seen.data(), n_queries, keys.values.data(), values.values.data(),
                           stride * kLegacyBlockValues, n_keys, head_dim, scale, f32.data(), arch);
          attend_group_f32(seen.data(), n_queries, keys.values.data(), values.values.data(),
                           stride * kLegacyBlockValues, n_keys, head_dim, scale, scalar.data(),
                           Arch::kScalar);
          if (!rounds) REQUIRE(same_bits(q8, f32));
          // Against the scalar reference (and, for integer scores, the f32 kernel of the level):
          // the same sums in another order, f32 over <= 300 keys.
          for (std::size_t i = 0; i < q8.size(); ++i) {
            REQUIRE(std::fabs(q8[i] - scalar[i]) <= 1e-5f * (1.0f + std::fabs(scalar[i])));
            REQUIRE(std::fabs(q8[i] - f32[i]) <= 1e-5f * (1.0f + std::fabs(f32[i])));
          }
        }
      }
    }
  }
}

TEST_CASE("q8_0 attention over shuffled blocks equals the contiguous call bit for bit",
          "[kernels]") {
  const unsigned seed = 29;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  constexpr std::size_t kBlockPositions = 32;
  for (const std::size_t head_dim : {std::size_t{64}, std::size_t{32}, std::size_t{8}}) {
    const std::size_t stride = q8_0_row_blocks(head_dim);
    for (const std::size_t n_keys : {std::size_t{5}, std::size_t{32}, std::size_t{97}}) {
      const Q8Rows keys = make_rows(rng, n_keys, head_dim, stride);
      const Q8Rows values = make_rows(rng, n_keys, head_dim, stride);
      // Blocks of kBlockPositions rows in a shuffled order inside one arena, as a pool hands out.
      const std::size_t n_blocks = (n_keys + kBlockPositions - 1) / kBlockPositions;
      const std::size_t block_elements = kBlockPositions * stride;
      std::vector<BlockQ8_0> key_arena((n_blocks + 1) * block_elements);
      std::vector<BlockQ8_0> value_arena((n_blocks + 1) * block_elements);
      std::vector<std::size_t> slot(n_blocks + 1);
      std::iota(slot.begin(), slot.end(), 0);
      std::shuffle(slot.begin(), slot.end(), rng);
      std::vector<const BlockQ8_0*> key_starts, value_starts;
      for (std::size_t b = 0; b < n_blocks; ++b) {
        const std::size_t first = b * kBlockPositions;
        const std::size_t count = std::min(kBlockPositions, n_keys - first) * stride;
        BlockQ8_0* k = key_arena.data() + slot[b] * block_elements;
        BlockQ8_0* v = value_arena.data() + slot[b] * block_elements;
        std::copy_n(keys.blocks.data() + first * stride, count, k);
        std::copy_n(values.blocks.data() + first * stride, count, v);
        key_starts.push_back(k);
        value_starts.push_back(v);
      }
      const KvBlocks<BlockQ8_0> kv{key_starts.data(), value_starts.data(), kBlockPositions, stride};
      const std::size_t n_queries = 4;
      const auto queries = llama3::test::normal_values(rng, n_queries * head_dim, 0.5f);
      const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
      for (const Arch arch : runnable_archs()) {
        INFO("head_dim " << head_dim << ", n_keys " << n_keys << ", arch " << arch_name(arch));
        std::vector<float> paged(n_queries * head_dim), contiguous(n_queries * head_dim);
        attend_group_blocks_q8_0(queries.data(), n_queries, kv, n_keys, head_dim, scale,
                                 paged.data(), arch);
        attend_group_q8_0(queries.data(), n_queries, keys.blocks.data(), values.blocks.data(),
                          stride, n_keys, head_dim, scale, contiguous.data(), arch);
        REQUIRE(same_bits(paged, contiguous));
      }
    }
  }
}

TEST_CASE("AVX-512 scores q8_0 keys with integer dot products at Llama 3's head sizes",
          "[kernels]") {
  for (const Arch arch : runnable_archs()) {
    INFO("arch " << arch_name(arch));
    // The VNNI kernel is the AVX-512 level's (and AMX's, which keeps AVX-512's attention); other
    // levels widen q8_0 rows to f32.
    const bool vnni = arch == Arch::kAvx512 || arch == Arch::kAmx;
    CHECK(attention_rounds_q8_0_queries(64, arch) == vnni);
    CHECK(attention_rounds_q8_0_queries(128, arch) == vnni);
    // 40 is not a multiple of AVX-512's 16: the AVX2 kernel takes it and widens.
    CHECK_FALSE(attention_rounds_q8_0_queries(40, arch));
  }
}
