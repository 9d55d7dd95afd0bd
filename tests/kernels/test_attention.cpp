#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/half_float.hpp"
#include "support/quant_test_support.hpp"

using namespace llama3::kernels;

// The online softmax must equal the two-pass softmax in double over the same f16-rounded cache;
// f32 accumulation over <= 300 keys leaves about 1e-5 relative.
TEST_CASE("attend_head matches a two-pass double softmax at every arch", "[kernels]") {
  const unsigned seed = 99;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  // 36: a multiple of the SSE4 width only (the wider arches fall back to the portable kernel).
  for (const std::size_t head_dim : {std::size_t{64}, std::size_t{128}, std::size_t{36}})
    for (const std::size_t n_keys : {std::size_t{1}, std::size_t{7}, std::size_t{300}}) {
      const std::size_t stride = 3 * head_dim + 16;
      const auto query = llama3::test::normal_values(rng, head_dim, 0.5f);
      const auto k = llama3::test::normal_values(rng, n_keys * stride);
      const auto v = llama3::test::normal_values(rng, n_keys * stride);
      std::vector<std::uint16_t> k16(k.size()), v16(v.size());
      std::vector<float> kr(k.size()), vr(v.size());
      for (std::size_t i = 0; i < k.size(); ++i) {
        k16[i] = f32_to_f16(k[i]), v16[i] = f32_to_f16(v[i]);
        kr[i] = f16_to_f32(k16[i]), vr[i] = f16_to_f32(v16[i]);
      }
      const float scale = 0.125f;
      std::vector<double> scores(n_keys), expected(head_dim, 0.0);
      double max_score = -1e300, total = 0.0;
      for (std::size_t j = 0; j < n_keys; ++j) {
        double s = 0.0;
        for (std::size_t d = 0; d < head_dim; ++d)
          s += static_cast<double>(query[d]) * kr[j * stride + d];
        scores[j] = s * scale;
        max_score = std::max(max_score, scores[j]);
      }
      for (std::size_t j = 0; j < n_keys; ++j) total += std::exp(scores[j] - max_score);
      for (std::size_t j = 0; j < n_keys; ++j) {
        const double p = std::exp(scores[j] - max_score) / total;
        for (std::size_t d = 0; d < head_dim; ++d) expected[d] += p * vr[j * stride + d];
      }
      for (const Arch arch : {Arch::kScalar, Arch::kSse4, Arch::kAvx2, Arch::kAvx512}) {
        if (arch > detected_arch()) continue;
        INFO("head_dim " << head_dim << ", n_keys " << n_keys << ", arch " << arch_name(arch));
        std::vector<float> out16(head_dim), out32(head_dim);
        attend_head_f16(query.data(), k16.data(), v16.data(), stride, n_keys, head_dim, scale,
                        out16.data(), arch);
        attend_head_f32(query.data(), kr.data(), vr.data(), stride, n_keys, head_dim, scale,
                        out32.data(), arch);
        for (std::size_t d = 0; d < head_dim; ++d) {
          REQUIRE(std::fabs(out16[d] - expected[d]) <= 1e-5 * (1.0 + std::fabs(expected[d])));
          REQUIRE(std::fabs(out32[d] - expected[d]) <= 1e-5 * (1.0 + std::fabs(expected[d])));
        }
      }
    }
}
