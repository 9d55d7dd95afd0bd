// Activation rounding is bit-identical at every arch (the integer kernels' tolerances assume the
// scalar rounding), including all-zero blocks and 16-value weight blocks.
#include <catch2/catch.hpp>

#include <vector>

#include "kernels/cpu_arch.hpp"
#include "kernels/quantized_activations.hpp"
#include "support/quant_test_support.hpp"

using namespace llama3::kernels;

TEST_CASE("activation rounding is identical at every arch", "[kernels]") {
  std::mt19937 rng(11);
  const std::size_t n_tokens = 3, cols = 160;
  auto x = llama3::test::normal_values(rng, n_tokens * cols, 3.0f);
  for (std::size_t j = 32; j < 64; ++j) x[j] = 0.0f;  // an all-zero block: scale 0, q 0
  x[70] = 1e-30f;                                     // a tiny block maximum
  for (const IntBlockFormat format :
       {IntBlockFormat{32, true, false, 8}, IntBlockFormat{16, false, false, 32},
        IntBlockFormat{32, false, true, 0}}) {
    QuantizedActivations expected;
    quantize_activations(x.data(), n_tokens, cols, format, expected, Arch::kScalar);
    for (const Arch arch : runnable_archs()) {
      if (arch == Arch::kScalar) continue;
      INFO("B " << format.block_values << ", arch " << arch_name(arch));
      QuantizedActivations got;
      quantize_activations(x.data(), n_tokens, cols, format, got, arch);
      CHECK(got.qs == expected.qs);
      CHECK(got.block_scales == expected.block_scales);
      CHECK(got.block_init == expected.block_init);
      CHECK(got.block_sums == expected.block_sums);
    }
  }
}

TEST_CASE("scalar activation rounding gives the hand-computed blocks", "[kernels]") {
  // Three 32-blocks whose scales are powers of two, so every q is exact arithmetic: d = max|x| /
  // 127, q = round-half-to-even(x / d). Expected values worked out by hand, not by the code.
  std::vector<float> x(96, 0.0f);
  // Block 0: max 127 -> d = 1.
  const float block0[] = {127.0f, 2.5f, 3.5f, -2.5f, -0.5f, 0.5f, 1.5f, 0.49f, -126.6f};
  std::copy(std::begin(block0), std::end(block0), x.begin());
  // Block 1: all zero -> d = 0, q = 0.
  // Block 2: max 254 -> d = 2.
  const float block2[] = {254.0f, -254.0f, 5.0f, 3.0f, -3.0f, 1.0f, 7.0f};
  std::copy(std::begin(block2), std::end(block2), x.begin() + 64);

  std::vector<std::int8_t> expected_q(96, 0);
  const std::int8_t q0[] = {127, 2, 4, -2, 0, 0, 2, 0, -127};
  const std::int8_t q2[] = {127, -127, 2, 2, -2, 0, 4};
  std::copy(std::begin(q0), std::end(q0), expected_q.begin());
  std::copy(std::begin(q2), std::end(q2), expected_q.begin() + 64);

  QuantizedActivations got;
  // Q4_0's format: 32-value weight blocks with zero point 8.
  quantize_activations(x.data(), 1, 96, IntBlockFormat{32, true, false, 8}, got, Arch::kScalar);
  CHECK(got.qs == expected_q);
  CHECK(got.block_scales == std::vector<float>{1.0f, 0.0f, 2.0f});
  // sum(q): 127 + 2 + 4 - 2 + 2 - 127 = 6 and 127 - 127 + 2 + 2 - 2 + 4 = 6.
  CHECK(got.block_init == std::vector<std::int32_t>{-8 * 6, 0, -8 * 6});
  CHECK(got.block_sums == std::vector<float>{6.0f, 0.0f, 12.0f});

  // 16-value weight blocks split each 32-block's sums in two; the scale is shared.
  quantize_activations(x.data(), 1, 96, IntBlockFormat{16, false, false, 32}, got, Arch::kScalar);
  CHECK(got.block_scales == std::vector<float>{1.0f, 1.0f, 0.0f, 0.0f, 2.0f, 2.0f});
  // First half of block 0 holds all nine values (sum 6); block 2's first half all seven (sum 6).
  CHECK(got.block_init == std::vector<std::int32_t>{-32 * 6, 0, 0, 0, -32 * 6, 0});
  CHECK(got.block_sums == std::vector<float>{6.0f, 0.0f, 0.0f, 0.0f, 12.0f, 0.0f});
}
