#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/half_float.hpp"
#include "kernels/kv_bf16.hpp"
#include "kernels/kv_q8_0.hpp"
#include "support/attention_reference.hpp"
#include "support/quant_test_support.hpp"

using namespace llama3::kernels;

// The online softmax must equal the two-pass softmax in double over the same f16-rounded cache,
// for every query of a GQA group (groups past the kernels' 16-query pass included); f32
// accumulation over <= 300 keys leaves about 1e-5 relative.
TEST_CASE("attend_group matches a two-pass double softmax per query at every arch", "[kernels]") {
  const unsigned seed = 99;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  // 64 and 128 are Llama 3's head sizes. Past the arch's own kernel: 40 (a multiple of 8, not
  // 16) takes the AVX2 kernel, 20 (of 4 only) the SSE4 one, 6 the portable loop.
  for (const std::size_t head_dim :
       {std::size_t{64}, std::size_t{128}, std::size_t{40}, std::size_t{20}, std::size_t{6}}) {
    const std::size_t stride = 3 * head_dim + 16;
    for (const std::size_t n_keys :
         {std::size_t{1}, std::size_t{7}, std::size_t{17}, std::size_t{300}}) {
      for (const std::size_t n_queries :
           {std::size_t{1}, std::size_t{4}, std::size_t{5}, std::size_t{19}}) {
        const auto queries = llama3::test::normal_values(rng, n_queries * head_dim, 0.5f);
        const auto k = llama3::test::normal_values(rng, n_keys * stride);
        const auto v = llama3::test::normal_values(rng, n_keys * stride);
        std::vector<std::uint16_t> k16(k.size()), v16(v.size());
        std::vector<float> kr(k.size()), vr(v.size());
        for (std::size_t i = 0; i < k.size(); ++i) {
          k16[i] = f32_to_f16(k[i]), v16[i] = f32_to_f16(v[i]);
          kr[i] = f16_to_f32(k16[i]), vr[i] = f16_to_f32(v16[i]);
        }
        const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
        for (const Arch arch : runnable_archs()) {
          std::vector<float> out16(n_queries * head_dim), out32(n_queries * head_dim);
          attend_group_f16(queries.data(), n_queries, k16.data(), v16.data(), stride, n_keys,
                           head_dim, scale, out16.data(), arch);
          attend_group_f32(queries.data(), n_queries, kr.data(), vr.data(), stride, n_keys,
                           head_dim, scale, out32.data(), arch);
          for (std::size_t r = 0; r < n_queries; ++r) {
            INFO("head_dim " << head_dim << ", n_keys " << n_keys << ", query " << r << " of "
                             << n_queries << ", arch " << arch_name(arch));
            const auto expected = llama3::test::exact_attention(
                queries.data() + r * head_dim, kr, vr, stride, n_keys, head_dim, scale);
            for (std::size_t d = 0; d < head_dim; ++d) {
              const double tolerance = 1e-5 * (1.0 + std::fabs(expected[d]));
              REQUIRE(std::fabs(out16[r * head_dim + d] - expected[d]) <= tolerance);
              REQUIRE(std::fabs(out32[r * head_dim + d] - expected[d]) <= tolerance);
            }
          }
        }
      }
    }
  }
}

// A prompt's tokens share one pass over the keys (attend_tokens_*), each query with its own causal
// count; every query must get exactly the bits of attend_group over its own count, which is what
// one-token decoding computes, at every arch, for every cache type.
TEST_CASE("attend_tokens gives each query the bits of attend_group over its own key count",
          "[kernels]") {
  std::mt19937 rng(7);
  for (const std::size_t head_dim :
       {std::size_t{64}, std::size_t{128}, std::size_t{48}, std::size_t{40}, std::size_t{6}}) {
    const std::size_t stride = head_dim;
    const std::size_t max_keys = 70;
    const auto k = llama3::test::normal_values(rng, max_keys * stride);
    const auto v = llama3::test::normal_values(rng, max_keys * stride);
    std::vector<std::uint16_t> k16(k.size()), v16(v.size());
    std::vector<Bf16> kb(k.size()), vb(v.size());
    for (std::size_t i = 0; i < k.size(); ++i) {
      k16[i] = f32_to_f16(k[i]), v16[i] = f32_to_f16(v[i]);
      kb[i] = to_bf16(k[i]), vb[i] = to_bf16(v[i]);
    }
    const std::size_t blocks = q8_0_row_blocks(head_dim % 32 == 0 ? head_dim : 0);
    std::vector<BlockQ8_0> k8(max_keys * blocks), v8(max_keys * blocks);
    if (blocks > 0) {
      for (std::size_t j = 0; j < max_keys; ++j) {
        quantize_q8_0_row(k.data() + j * stride, head_dim, k8.data() + j * blocks);
        quantize_q8_0_row(v.data() + j * stride, head_dim, v8.data() + j * blocks);
      }
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    // 1 to 9 tokens of 4 heads (a run of up to 16 or, at AVX-512, 32 queries, and past it), counts
    // crossing the 16- and 32-key steps, odd and even: the last token at 70 keys, each earlier
    // one a key fewer.
    for (const std::size_t n_tokens :
         {std::size_t{1}, std::size_t{3}, std::size_t{4}, std::size_t{5}, std::size_t{9}}) {
      const std::size_t n_rep = 4, n = n_tokens * n_rep;
      std::vector<std::size_t> counts(n);
      for (std::size_t i = 0; i < n; ++i) counts[i] = max_keys - (n_tokens - 1 - i / n_rep);
      const auto queries = llama3::test::normal_values(rng, n * head_dim, 0.5f);
      for (const Arch arch : runnable_archs()) {
        INFO("head_dim " << head_dim << ", tokens " << n_tokens << ", arch " << arch_name(arch));
        std::vector<float> together(n * head_dim), alone(n * head_dim);
        const auto check = [&](const char* type) {
          INFO(type);
          CHECK(std::memcmp(together.data(), alone.data(), together.size() * sizeof(float)) == 0);
        };
        attend_tokens_f16(queries.data(), n, counts.data(), k16.data(), v16.data(), stride,
                          head_dim, scale, together.data(), arch);
        for (std::size_t i = 0; i < n; i += n_rep) {
          attend_group_f16(queries.data() + i * head_dim, n_rep, k16.data(), v16.data(), stride,
                           counts[i], head_dim, scale, alone.data() + i * head_dim, arch);
        }
        check("f16");
        attend_tokens_f32(queries.data(), n, counts.data(), k.data(), v.data(), stride, head_dim,
                          scale, together.data(), arch);
        for (std::size_t i = 0; i < n; i += n_rep) {
          attend_group_f32(queries.data() + i * head_dim, n_rep, k.data(), v.data(), stride,
                           counts[i], head_dim, scale, alone.data() + i * head_dim, arch);
        }
        check("f32");
        if (blocks > 0) {
          attend_tokens_q8_0(queries.data(), n, counts.data(), k8.data(), v8.data(), blocks,
                             head_dim, scale, together.data(), arch);
          for (std::size_t i = 0; i < n; i += n_rep) {
            attend_group_q8_0(queries.data() + i * head_dim, n_rep, k8.data(), v8.data(), blocks,
                              counts[i], head_dim, scale, alone.data() + i * head_dim, arch);
          }
          check("q8_0");
        }
        attend_tokens_bf16(queries.data(), n, counts.data(), kb.data(), vb.data(), stride, head_dim,
                           scale, together.data(), arch);
        for (std::size_t i = 0; i < n; i += n_rep) {
          attend_group_bf16(queries.data() + i * head_dim, n_rep, kb.data(), vb.data(), stride,
                            counts[i], head_dim, scale, alone.data() + i * head_dim, arch);
        }
        check("bf16");
      }
    }
  }
}
