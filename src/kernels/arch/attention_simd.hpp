// Attention of a GQA group over an f16, f32, q8_0 or bf16 cache as xsimd batches, for the archs
// below AVX-512 (which has its own kernel, x86/avx512/attention.cpp). Included by
// x86/{avx2,sse4}/attention.cpp and arm/level_kernels.hpp, each compiled with its arch's flags. The
// same online softmax as the AVX-512 kernel: keys 16 at a time with one vector exp per block, and
// each f16 or q8_0 block widened to f32 once for all the group's queries (`widen` is the arch's
// conversion of one row of the cache's element type: F16C for f16 where there is one). A q8_0 row
// widens to exactly the values q8_0_value gives, so the q8_0 kernel computes what the f32 kernel
// does over the dequantized rows, bit for bit.
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/kv_bf16.hpp"
#include "kernels/kv_blocks.hpp"

namespace llama3::kernels::simd_attention {

constexpr std::size_t kKeyBlock = kAttentionKeyBlock;  // keys per softmax block
constexpr std::size_t kMaxHeadDim = 256;               // callers check head_dim <= this
constexpr std::size_t kMaxGroup = 16;  // query heads per pass; larger groups take several

// A bf16 row is the top halves of f32s: widening is a shift, which the compiler vectorises.
inline void widen_bf16(const Bf16* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = bf16_value(in[i]);
}

// out_r = softmax(scale * q_r . keys) . values for r < n_queries <= kMaxGroup.
// head_dim a multiple of the batch width, at most kMaxHeadDim. queries, out: [n_queries, head_dim].
template <class A, class Element, class Widen>
void attend_pass(const float* queries, std::size_t n_queries, const KvBlocks<Element>& kv,
                 std::size_t n_keys, std::size_t head_dim, float scale, float* out, Widen widen) {
  using Batch = xsimd::batch<float, A>;
  constexpr std::size_t kWidth = Batch::size;
  const std::size_t n_batches = head_dim / kWidth;
  std::array<float, kMaxGroup> running_max, denominator;
  running_max.fill(-std::numeric_limits<float>::infinity());
  denominator.fill(0.0f);
  std::fill(out, out + n_queries * head_dim, 0.0f);
  alignas(64) float wide_keys[kKeyBlock * kMaxHeadDim];    // [kKeyBlock, head_dim]
  alignas(64) float wide_values[kKeyBlock * kMaxHeadDim];  // [kKeyBlock, head_dim]
  alignas(64) float weights[kKeyBlock];
  for (std::size_t j0 = 0; j0 < n_keys; j0 += kKeyBlock) {
    const std::size_t n = std::min(kKeyBlock, n_keys - j0);
    const float* block_keys = wide_keys;
    const float* block_values = wide_values;
    std::size_t block_stride = head_dim;
    // The group of kKeyBlock keys lies inside one KV block (kv_blocks.hpp).
    const Element* keys = kv.key_row(j0);
    const Element* values = kv.value_row(j0);
    if constexpr (std::is_same_v<Element, float>) {
      block_keys = keys, block_values = values, block_stride = kv.stride;
    } else {
      for (std::size_t j = 0; j < n; ++j) {
        widen(keys + j * kv.stride, wide_keys + j * head_dim, head_dim);
        widen(values + j * kv.stride, wide_values + j * head_dim, head_dim);
      }
    }
    for (std::size_t r = 0; r < n_queries; ++r) {
      const float* query = queries + r * head_dim;
      float block_max = -std::numeric_limits<float>::infinity();
      for (std::size_t j = 0; j < kKeyBlock; ++j) {
        if (j >= n) {  // past the last key: weight exp(-inf) = 0
          weights[j] = -std::numeric_limits<float>::infinity();
          continue;
        }
        const float* key = block_keys + j * block_stride;
        Batch even(0.0f), odd(0.0f);  // two FMA chains
        std::size_t b = 0;
        for (; b + 1 < n_batches; b += 2) {
          even = xsimd::fma(Batch::load_unaligned(query + b * kWidth),
                            Batch::load_unaligned(key + b * kWidth), even);
          odd = xsimd::fma(Batch::load_unaligned(query + (b + 1) * kWidth),
                           Batch::load_unaligned(key + (b + 1) * kWidth), odd);
        }
        if (b < n_batches) {
          even = xsimd::fma(Batch::load_unaligned(query + b * kWidth),
                            Batch::load_unaligned(key + b * kWidth), even);
        }
        weights[j] = xsimd::hadd(even + odd) * scale;
        block_max = std::max(block_max, weights[j]);
      }
      float correction = 1.0f;
      if (block_max > running_max[r]) {
        // exp(-inf) = 0 on the first block: the empty accumulator stays 0.
        correction = std::exp(running_max[r] - block_max);
        denominator[r] *= correction;
        running_max[r] = block_max;
      }
      const Batch shift(running_max[r]);
      for (std::size_t j = 0; j < kKeyBlock; j += kWidth) {
        const Batch w = xsimd::exp(Batch::load_aligned(weights + j) - shift);
        w.store_aligned(weights + j);
        denominator[r] += xsimd::hadd(w);
      }
      float* acc = out + r * head_dim;
      for (std::size_t b = 0; b < n_batches; ++b) {
        Batch sum = Batch::load_unaligned(acc + b * kWidth) * Batch(correction);
        for (std::size_t j = 0; j < n; ++j) {
          sum =
              xsimd::fma(Batch(weights[j]),
                         Batch::load_unaligned(block_values + j * block_stride + b * kWidth), sum);
        }
        sum.store_unaligned(acc + b * kWidth);
      }
    }
  }
  for (std::size_t r = 0; r < n_queries; ++r) {
    const Batch inverse(denominator[r] > 0.0f ? 1.0f / denominator[r] : 0.0f);
    for (std::size_t b = 0; b < n_batches; ++b) {
      float* at = out + r * head_dim + b * kWidth;
      (Batch::load_unaligned(at) * inverse).store_unaligned(at);
    }
  }
}

template <class A, class Element, class Widen>
void attend_group(const float* queries, std::size_t n_queries, const KvBlocks<Element>& kv,
                  std::size_t n_keys, std::size_t head_dim, float scale, float* out, Widen widen) {
  for (std::size_t first = 0; first < n_queries; first += kMaxGroup) {
    attend_pass<A>(queries + first * head_dim, std::min(kMaxGroup, n_queries - first), kv, n_keys,
                   head_dim, scale, out + first * head_dim, widen);
  }
}

}  // namespace llama3::kernels::simd_attention
