// Online-softmax attention over an f16 cache as xsimd code templated on the arch, for the AVX2 and
// SSE4 instantiations (attention_avx2.cpp, attention_sse4.cpp): head_dim a multiple of the vector
// width, at most 256. The query and the output accumulator are vectors; keys go kKeys at a time so
// their dot products are independent FMA chains. The softmax itself stays scalar per key (one exp
// each, as the portable kernel does): at head_dim 64 the f16 widening and the FMAs dominate.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "kernels/arch/simd_arch_ops.hpp"

namespace llama3::kernels::simd {

template <class A>
inline constexpr std::size_t kAttentionMaxVectors = 256 / F32<A>::size;

// out = sum_j softmax_j(scale * query . key_j) * value_j (attention.hpp's contract).
template <class A>
void attend_head_f16(const float* query, const std::uint16_t* keys, const std::uint16_t* values,
                     std::size_t stride, std::size_t n_keys, std::size_t head_dim, float scale,
                     float* out) {
  constexpr std::size_t kLanes = F32<A>::size;
  constexpr std::size_t kKeys = 4;
  const std::size_t n_vectors = head_dim / kLanes;
  F32<A> q[kAttentionMaxVectors<A>];    // [head_dim], scaled
  F32<A> acc[kAttentionMaxVectors<A>];  // [head_dim]
  for (std::size_t v = 0; v < n_vectors; ++v) {
    q[v] = F32<A>::load_unaligned(query + kLanes * v) * F32<A>(scale);
    acc[v] = F32<A>(0.0f);
  }
  float running_max = -std::numeric_limits<float>::infinity();
  float denominator = 0.0f;
  // Keys [j0, j0 + kCount): scores, then the online softmax update key by key.
  const auto attend_keys = [&](auto count, std::size_t j0) {
    constexpr std::size_t kCount = decltype(count)::value;
    F32<A> dots[kCount];
    for (auto& d : dots) d = F32<A>(0.0f);
    for (std::size_t v = 0; v < n_vectors; ++v) {
      for (std::size_t j = 0; j < kCount; ++j) {
        dots[j] = xsimd::fma(q[v], load_f16<A>(keys + (j0 + j) * stride + kLanes * v), dots[j]);
      }
    }
    for (std::size_t j = 0; j < kCount; ++j) {
      const float score = xsimd::hadd(dots[j]);
      if (score > running_max) {
        // exp(-inf) = 0 on the first key: the empty accumulators stay 0.
        const float correction = std::exp(running_max - score);
        denominator *= correction;
        for (std::size_t v = 0; v < n_vectors; ++v) acc[v] *= F32<A>(correction);
        running_max = score;
      }
      const float weight = std::exp(score - running_max);
      denominator += weight;
      const std::uint16_t* value = values + (j0 + j) * stride;
      for (std::size_t v = 0; v < n_vectors; ++v) {
        acc[v] = xsimd::fma(F32<A>(weight), load_f16<A>(value + kLanes * v), acc[v]);
      }
    }
  };
  std::size_t j0 = 0;
  for (; j0 + kKeys <= n_keys; j0 += kKeys) {
    attend_keys(std::integral_constant<std::size_t, kKeys>{}, j0);
  }
  for (; j0 < n_keys; ++j0) attend_keys(std::integral_constant<std::size_t, 1>{}, j0);
  const F32<A> inverse(denominator > 0.0f ? 1.0f / denominator : 0.0f);
  for (std::size_t v = 0; v < n_vectors; ++v) (acc[v] * inverse).store_unaligned(out + kLanes * v);
}

}  // namespace llama3::kernels::simd
