// rope_half_split against a scalar double-precision reference written from HF's rotate_half, and
// against rope_adjacent_pairs on rows in HF's permuted order (the reason the kernel exists).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/vector_ops.hpp"

TEST_CASE("rope_half_split matches HF's q*cos + rotate_half(q)*sin", "[kernels]") {
  const std::uint32_t seed = 20240723;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  for (std::size_t head_dim : {2u, 6u, 64u, 128u}) {
    const std::size_t n_heads = 3, half = head_dim / 2;
    std::vector<float> x(n_heads * head_dim), cos(half), sin(half);
    for (auto& v : x) v = uniform(rng);
    for (std::size_t i = 0; i < half; ++i) {
      const float angle = uniform(rng) * 3.0f;
      cos[i] = std::cos(angle);
      sin[i] = std::sin(angle);
    }
    std::vector<float> rotated = x;
    llama3::kernels::rope_half_split(rotated.data(), n_heads, head_dim, cos.data(), sin.data());
    for (std::size_t h = 0; h < n_heads; ++h) {
      const float* q = x.data() + h * head_dim;
      for (std::size_t d = 0; d < head_dim; ++d) {
        // rotate_half(q) = cat(-q[half:], q[:half]); cos/sin = cat(freqs, freqs).
        const double rotated_half = d < half ? -double(q[d + half]) : double(q[d - half]);
        const double expected = q[d] * double(cos[d % half]) + rotated_half * double(sin[d % half]);
        CHECK(rotated[h * head_dim + d] == Approx(expected).margin(1e-6));
      }
    }
  }
}

TEST_CASE("rope_half_split on HF-permuted rows equals adjacent pairs on Meta rows", "[kernels]") {
  const std::size_t n_heads = 2, head_dim = 16, half = head_dim / 2;
  std::vector<float> meta(n_heads * head_dim), hf(meta.size()), cos(half), sin(half);
  for (std::size_t i = 0; i < meta.size(); ++i)
    meta[i] = std::sin(0.37f * static_cast<float>(i) + 1.0f);
  for (std::size_t i = 0; i < half; ++i) {
    cos[i] = std::cos(0.3f * static_cast<float>(i + 1));
    sin[i] = std::sin(0.3f * static_cast<float>(i + 1));
  }
  // HF row j < half is Meta row 2j; HF row half + j is Meta row 2j + 1 (docs/facts.md §4).
  for (std::size_t h = 0; h < n_heads; ++h) {
    for (std::size_t j = 0; j < half; ++j) {
      hf[h * head_dim + j] = meta[h * head_dim + 2 * j];
      hf[h * head_dim + half + j] = meta[h * head_dim + 2 * j + 1];
    }
  }
  llama3::kernels::rope_adjacent_pairs(meta.data(), n_heads, head_dim, cos.data(), sin.data());
  llama3::kernels::rope_half_split(hf.data(), n_heads, head_dim, cos.data(), sin.data());
  for (std::size_t h = 0; h < n_heads; ++h) {
    for (std::size_t j = 0; j < half; ++j) {
      CHECK(hf[h * head_dim + j] == meta[h * head_dim + 2 * j]);  // same arithmetic: exact
      CHECK(hf[h * head_dim + half + j] == meta[h * head_dim + 2 * j + 1]);
    }
  }
}
