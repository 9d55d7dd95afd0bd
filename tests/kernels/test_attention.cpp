#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/half_float.hpp"
#include "support/quant_test_support.hpp"

using namespace llama3::kernels;

namespace {

// softmax(scale * q . k_j) . v_j in double, two passes, over rows at `stride`.
std::vector<double> two_pass_attention(const float* query, const std::vector<float>& keys,
                                       const std::vector<float>& values, std::size_t stride,
                                       std::size_t n_keys, std::size_t head_dim, double scale) {
  std::vector<double> scores(n_keys), result(head_dim, 0.0);
  double max_score = -1e300, total = 0.0;
  for (std::size_t j = 0; j < n_keys; ++j) {
    double s = 0.0;
    for (std::size_t d = 0; d < head_dim; ++d) {
      s += static_cast<double>(query[d]) * keys[j * stride + d];
    }
    scores[j] = s * scale;
    max_score = std::max(max_score, scores[j]);
  }
  for (std::size_t j = 0; j < n_keys; ++j) total += std::exp(scores[j] - max_score);
  for (std::size_t j = 0; j < n_keys; ++j) {
    const double p = std::exp(scores[j] - max_score) / total;
    for (std::size_t d = 0; d < head_dim; ++d) result[d] += p * values[j * stride + d];
  }
  return result;
}

}  // namespace

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
            const auto expected = two_pass_attention(queries.data() + r * head_dim, kr, vr, stride,
                                                     n_keys, head_dim, scale);
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
