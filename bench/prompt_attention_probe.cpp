// Probe: the attention of a prompt chunk at depth, one KV head, one thread, per cache type. A chunk
// of `tokens` prompt tokens follows `depth` cached positions; each token's GQA group of `n_rep`
// query heads attends causally (token i over depth + i + 1 keys), all of the chunk's queries in one
// attend_tokens_* call, as the forward pass hands them over. Types alternate over the same rows
// (rounded to each type), three passes, each the best of 5 rounds. Prints nanoseconds per
// query-key pair: the figure docs/performance.md compares kernels by.
//   prompt_attention_probe [depth=4096] [tokens=8] [n_rep=4] [head_dim=64]
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
#include "kernels/kv_bf16.hpp"
#include "kernels/kv_q8_0.hpp"
#include "probe_args.hpp"

using namespace llama3;

using bench::positional_count;

int main(int argc, char** argv) {
  const std::size_t depth = positional_count(argc, argv, 1, 4096);
  const std::size_t tokens = positional_count(argc, argv, 2, 8);
  const std::size_t n_rep = positional_count(argc, argv, 3, 4);
  const std::size_t head_dim = positional_count(argc, argv, 4, 64);
  if (tokens == 0 || n_rep == 0 || head_dim == 0 || head_dim % 16 != 0) {
    std::fprintf(stderr, "prompt_attention_probe: need tokens, n_rep > 0, head_dim %% 16 == 0\n");
    return 2;
  }
  const std::size_t n_keys = depth + tokens;
  const std::size_t n_queries = tokens * n_rep;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<float> keys(n_keys * head_dim), values(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = normal(rng), values[i] = normal(rng);
  std::vector<float> queries(n_queries * head_dim), out(queries.size());
  for (auto& q : queries) q = normal(rng);
  std::vector<std::size_t> counts(n_queries);
  std::size_t pairs = 0;
  for (std::size_t r = 0; r < n_queries; ++r) pairs += counts[r] = depth + r / n_rep + 1;

  std::vector<std::uint16_t> f16_keys(keys.size()), f16_values(keys.size());
  std::vector<kernels::Bf16> bf16_keys(keys.size()), bf16_values(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    f16_keys[i] = kernels::f32_to_f16(keys[i]), f16_values[i] = kernels::f32_to_f16(values[i]);
    bf16_keys[i] = kernels::to_bf16(keys[i]), bf16_values[i] = kernels::to_bf16(values[i]);
  }
  const std::size_t row_blocks = kernels::q8_0_row_blocks(head_dim);
  std::vector<kernels::BlockQ8_0> q8_keys(n_keys * row_blocks), q8_values(q8_keys.size());
  for (std::size_t r = 0; r < n_keys; ++r) {
    kernels::quantize_q8_0_row(&keys[r * head_dim], head_dim, &q8_keys[r * row_blocks]);
    kernels::quantize_q8_0_row(&values[r * head_dim], head_dim, &q8_values[r * row_blocks]);
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));

  using Clock = std::chrono::steady_clock;
  const auto nanoseconds_per_pair = [&](auto&& call) {
    double best = 1e300;
    for (int round = 0; round < 5; ++round) {
      const auto start = Clock::now();
      call();
      best = std::min(best, std::chrono::duration<double, std::nano>(Clock::now() - start).count());
    }
    return best / static_cast<double>(pairs);
  };
  std::printf("depth %zu, %zu tokens x %zu query heads, head_dim %zu, one KV head\n", depth, tokens,
              n_rep, head_dim);
  std::printf("| pass | f16 ns/pair | bf16 ns/pair | q8_0 ns/pair |\n|---|---|---|---|\n");
  for (int pass = 1; pass <= 3; ++pass) {
    const double f16 = nanoseconds_per_pair([&] {
      kernels::attend_tokens_f16(queries.data(), n_queries, counts.data(), f16_keys.data(),
                                 f16_values.data(), head_dim, head_dim, scale, out.data());
    });
    const double bf16 = nanoseconds_per_pair([&] {
      kernels::attend_tokens_bf16(queries.data(), n_queries, counts.data(), bf16_keys.data(),
                                  bf16_values.data(), head_dim, head_dim, scale, out.data());
    });
    const double q8 = nanoseconds_per_pair([&] {
      kernels::attend_tokens_q8_0(queries.data(), n_queries, counts.data(), q8_keys.data(),
                                  q8_values.data(), row_blocks, head_dim, scale, out.data());
    });
    std::printf("| %d | %.2f | %.2f | %.2f |\n", pass, f16, bf16, q8);
  }
  return 0;
}
