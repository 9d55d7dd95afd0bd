// silu_mul (kernel_table.hpp: gate[i] = silu(gate[i]) * up[i]) as xsimd code templated on the
// arch, for the aarch64 levels (arm/level_kernels.hpp). Whole vectors use xsimd's exp (Cephes'
// polynomial, a few ulp from std::exp, with +inf above ~88.7 and 0 below ~-103); the tail takes
// the portable loop's expression. For g below -88.7, e^-g is +inf and the quotient -0, as in the
// portable form.
#pragma once

#include <cmath>
#include <cstddef>

#include "kernels/arch/simd_ops.hpp"

namespace llama3::kernels::simd {

template <class A>
void silu_mul(float* gate, const float* up, std::size_t n) {
  constexpr std::size_t kLanes = F32<A>::size;
  const F32<A> one(1.0f);
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const auto g = F32<A>::load_unaligned(gate + i);
    const auto u = F32<A>::load_unaligned(up + i);
    (g / (one + xsimd::exp(-g)) * u).store_unaligned(gate + i);
  }
  for (; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace llama3::kernels::simd
