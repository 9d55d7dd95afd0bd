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
    for (const Arch arch : {Arch::kSse4, Arch::kAvx2, Arch::kAvx512}) {
      if (arch > detected_arch()) continue;
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
