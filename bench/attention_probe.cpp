// Probe: one decoded token's attention over a filled f16 KV cache, all layers, one thread, in four
// ways: the cache head-major ([kv_head][position][head_dim], as KvCache keeps it) or
// position-major ([position][kv_head][head_dim]), and the query heads of each GQA group attending
// together (one attend_group call per KV head) or one at a time (each reading the cache again).
// Then the same keys and values rounded to q8_0 (docs/kv-cache.md) against f16, head-major and
// grouped as a Session runs them, alternating three times.
//   attention_probe [depth=4096] [n_heads=32] [n_kv_heads=8] [head_dim=64] [n_layers=16]
// Defaults: the 1B shape. Prints microseconds per token and the cache bytes each way reads.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/half_float.hpp"
#include "kernels/kv_q8_0.hpp"
#include "probe_args.hpp"

using namespace llama3;

using bench::positional_count;

int main(int argc, char** argv) {
  const std::size_t depth = positional_count(argc, argv, 1, 4096);
  const std::size_t n_heads = positional_count(argc, argv, 2, 32);
  const std::size_t n_kv_heads = positional_count(argc, argv, 3, 8);
  const std::size_t head_dim = positional_count(argc, argv, 4, 64);
  const std::size_t n_layers = positional_count(argc, argv, 5, 16);
  if (depth == 0 || n_kv_heads == 0 || n_heads % n_kv_heads != 0 || head_dim == 0) {
    std::fprintf(stderr, "attention_probe: need depth > 0 and n_heads a multiple of n_kv_heads\n");
    return 2;
  }
  const std::size_t n_rep = n_heads / n_kv_heads;
  const std::size_t kv_dim = n_kv_heads * head_dim;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  // Per layer: depth x kv_dim keys and values, f16, in either layout (the values do not matter).
  std::vector<std::uint16_t> keys(n_layers * depth * kv_dim), values(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    keys[i] = kernels::f32_to_f16(normal(rng));
    values[i] = kernels::f32_to_f16(normal(rng));
  }
  std::vector<float> queries(n_heads * head_dim), out(n_heads * head_dim);
  for (auto& q : queries) q = normal(rng);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));

  using Clock = std::chrono::steady_clock;
  // One token: every layer, every KV head, with `group` queries per call.
  const auto token_microseconds = [&](bool head_major, std::size_t group) {
    const std::size_t stride = head_major ? head_dim : kv_dim;               // between positions
    const std::size_t head_step = head_major ? depth * head_dim : head_dim;  // between KV heads
    double best = 1e300;
    for (int round = 0; round < 5; ++round) {
      const auto start = Clock::now();
      for (std::size_t layer = 0; layer < n_layers; ++layer) {
        const std::uint16_t* k = keys.data() + layer * depth * kv_dim;
        const std::uint16_t* v = values.data() + layer * depth * kv_dim;
        for (std::size_t head = 0; head < n_heads; head += group) {
          const std::size_t kv_offset = head / n_rep * head_step;
          kernels::attend_group_f16(queries.data() + head * head_dim, group, k + kv_offset,
                                    v + kv_offset, stride, depth, head_dim, scale,
                                    out.data() + head * head_dim);
        }
      }
      best =
          std::min(best, std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    return best;
  };
  const double cache_mb = 2.0 * static_cast<double>(n_layers * depth * kv_dim) * 2.0 / 1e6;
  std::printf("depth %zu, %zu heads / %zu KV heads, head_dim %zu, %zu layers: %.0f MB of cache\n",
              depth, n_heads, n_kv_heads, head_dim, n_layers, cache_mb);
  std::printf(
      "| cache layout | queries per call | us per token | cache MB read |\n|---|---|---|---|\n");
  for (const bool head_major : {true, false}) {
    for (const std::size_t group : {n_rep, std::size_t{1}}) {
      std::printf("| %s | %zu | %.0f | %.0f |\n", head_major ? "head-major" : "position-major",
                  group, token_microseconds(head_major, group),
                  cache_mb * static_cast<double>(n_rep / group));
    }
  }

  // The same rows as q8_0, head-major: every f16 row widened and rounded to q8_0_row_blocks blocks.
  const std::size_t row_blocks = kernels::q8_0_row_blocks(head_dim);
  std::vector<kernels::BlockQ8_0> q8_keys(n_layers * depth * n_kv_heads * row_blocks),
      q8_values(q8_keys.size());
  {
    std::vector<float> row(head_dim);
    for (std::size_t r = 0; r < n_layers * depth * n_kv_heads; ++r) {
      for (std::size_t d = 0; d < head_dim; ++d)
        row[d] = kernels::f16_to_f32(keys[r * head_dim + d]);
      kernels::quantize_q8_0_row(row.data(), head_dim, q8_keys.data() + r * row_blocks);
      for (std::size_t d = 0; d < head_dim; ++d)
        row[d] = kernels::f16_to_f32(values[r * head_dim + d]);
      kernels::quantize_q8_0_row(row.data(), head_dim, q8_values.data() + r * row_blocks);
    }
  }
  const auto q8_token_microseconds = [&] {
    double best = 1e300;
    for (int round = 0; round < 5; ++round) {
      const auto start = Clock::now();
      for (std::size_t layer = 0; layer < n_layers; ++layer) {
        const std::size_t layer_start = layer * depth * n_kv_heads * row_blocks;
        for (std::size_t head = 0; head < n_heads; head += n_rep) {
          const std::size_t kv_offset = layer_start + head / n_rep * depth * row_blocks;
          kernels::attend_group_q8_0(queries.data() + head * head_dim, n_rep,
                                     q8_keys.data() + kv_offset, q8_values.data() + kv_offset,
                                     row_blocks, depth, head_dim, scale,
                                     out.data() + head * head_dim);
        }
      }
      best =
          std::min(best, std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    return best;
  };
  const double q8_mb = 2.0 * static_cast<double>(q8_keys.size() * sizeof(kernels::BlockQ8_0)) / 1e6;
  std::printf(
      "\n| cache type (head-major, grouped) | us per token | cache MB read |\n|---|---|---|\n");
  for (int pass = 0; pass < 3; ++pass) {
    std::printf("| f16 | %.0f | %.0f |\n", token_microseconds(true, n_rep), cache_mb);
    std::printf("| q8_0 | %.0f | %.0f |\n", q8_token_microseconds(), q8_mb);
  }
  return 0;
}
