// silu_mul at every arch against a double-precision SwiGLU, on odd lengths (masked tails) and on
// the extremes where e^-g overflows or underflows.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/cpu_arch.hpp"
#include "kernels/vector_ops.hpp"
#include "support/quant_test_support.hpp"

using namespace llama3::kernels;

TEST_CASE("silu_mul matches double SwiGLU at every arch", "[kernels]") {
  std::mt19937 rng(7);
  for (const std::size_t n :
       {std::size_t{1}, std::size_t{15}, std::size_t{17}, std::size_t{1001}}) {
    auto gate = llama3::test::normal_values(rng, n, 4.0f);
    const auto up = llama3::test::normal_values(rng, n);
    // The overflow/underflow ends of e^-g, where the quotient saturates to -0 or g.
    const float extremes[] = {-200.0f, -89.0f, -87.0f, -20.0f, 0.0f, 20.0f, 89.0f, 200.0f};
    for (std::size_t i = 0; i < n && i < std::size(extremes); ++i) gate[i * 3 % n] = extremes[i];
    for (const Arch arch : runnable_archs()) {
      INFO("n " << n << ", arch " << arch_name(arch));
      auto out = gate;
      silu_mul(out.data(), up.data(), n, arch);
      for (std::size_t i = 0; i < n; ++i) {
        const double g = gate[i];
        const double expected = g / (1.0 + std::exp(-g)) * up[i];
        INFO("g " << g << ", up " << up[i]);
        REQUIRE(std::fabs(out[i] - expected) <= 2e-6 * std::fabs(expected) + 1e-30);
      }
    }
  }
}
