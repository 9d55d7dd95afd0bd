// Attention of a GQA group over an f16, f32, q8_0 or bf16 cache as xsimd batches, for the archs
// below AVX-512 (which has its own kernel, x86/avx512/attention.cpp). Included by
// x86/{avx2,sse4}/attention.cpp and arm/level_kernels.hpp, each compiled with its arch's flags. The
// same online softmax as the AVX-512 kernel: keys 16 at a time with one vector exp per block, and
// each f16 or q8_0 block widened to f32 once for all the pass's queries (`widen` is the arch's
// conversion of one row of the cache's element type: F16C for f16 where there is one). A pass
// takes a GQA group, or the groups of several tokens of a prompt, each query with its own key
// count (attend_tokens); a query's arithmetic does not depend on the others, so a prompt's tokens
// get one-token decoding's bits. A key's dot product ends in a horizontal sum, done for a batch
// width of keys at once (xsimd::haddp). A q8_0 row widens to exactly the values q8_0_value gives,
// so the q8_0 kernel computes what the f32 kernel does over the dequantized rows, bit for bit.
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
// Queries per pass; larger runs take several. The forward pass hands over 32 (8 tokens' GQA groups
// of 4), and each block is widened once for all of them.
constexpr std::size_t kMaxPass = 32;

// A bf16 row is the top halves of f32s: widening is a shift, which the compiler vectorises.
inline void widen_bf16(const Bf16* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = bf16_value(in[i]);
}

// out_r = softmax(scale * q_r . keys) . values over keys [0, key_counts[r]) for r < n_queries <=
// kMaxPass (every query over n_keys when key_counts is null; else n_keys is the largest count).
// head_dim a multiple of the batch width, at most kMaxHeadDim. queries, out: [n_queries, head_dim].
template <class A, class Element, class Widen>
void attend_pass(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                 const KvBlocks<Element>& kv, std::size_t n_keys, std::size_t head_dim, float scale,
                 float* out, Widen widen) {
  using Batch = xsimd::batch<float, A>;
  constexpr std::size_t kWidth = Batch::size;
  static_assert(kKeyBlock % kWidth == 0, "a block's keys are scored a batch width at a time");
  static_assert(kWidth % 2 == 0, "keys are scored two at a time");
  const std::size_t n_batches = head_dim / kWidth;
  std::array<float, kMaxPass> running_max, denominator;
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
      const std::size_t count = key_counts ? key_counts[r] : n_keys;
      if (count <= j0) continue;
      const std::size_t owns = std::min(kKeyBlock, count - j0);  // this query's keys of the block
      const float* query = queries + r * head_dim;
      // Scores kWidth keys at a time, their sums reduced across lanes together. Past the query's
      // last key: weight exp(-inf) = 0.
      for (std::size_t g = 0; g < kKeyBlock; g += kWidth) {
        if (g >= owns) {
          std::fill(weights + g, weights + g + kWidth, -std::numeric_limits<float>::infinity());
          continue;
        }
        // Two keys at once, each in two FMA chains over alternate batches: four chains in
        // flight. A key past the query's last repeats its last key; its lane is masked below.
        Batch sums[kWidth];
        for (std::size_t i = 0; i < kWidth; i += 2) {
          const float* key_a = block_keys + std::min(g + i, owns - 1) * block_stride;
          const float* key_b = block_keys + std::min(g + i + 1, owns - 1) * block_stride;
          Batch even_a(0.0f), odd_a(0.0f), even_b(0.0f), odd_b(0.0f);
          std::size_t b = 0;
          for (; b + 1 < n_batches; b += 2) {
            const Batch q0 = Batch::load_unaligned(query + b * kWidth);
            const Batch q1 = Batch::load_unaligned(query + (b + 1) * kWidth);
            even_a = xsimd::fma(q0, Batch::load_unaligned(key_a + b * kWidth), even_a);
            odd_a = xsimd::fma(q1, Batch::load_unaligned(key_a + (b + 1) * kWidth), odd_a);
            even_b = xsimd::fma(q0, Batch::load_unaligned(key_b + b * kWidth), even_b);
            odd_b = xsimd::fma(q1, Batch::load_unaligned(key_b + (b + 1) * kWidth), odd_b);
          }
          if (b < n_batches) {
            const Batch q0 = Batch::load_unaligned(query + b * kWidth);
            even_a = xsimd::fma(q0, Batch::load_unaligned(key_a + b * kWidth), even_a);
            even_b = xsimd::fma(q0, Batch::load_unaligned(key_b + b * kWidth), even_b);
          }
          sums[i] = even_a + odd_a;
          sums[i + 1] = even_b + odd_b;
        }
        (xsimd::haddp(sums) * Batch(scale)).store_aligned(weights + g);
        for (std::size_t j = std::max(g, owns); j < g + kWidth; ++j)
          weights[j] = -std::numeric_limits<float>::infinity();
      }
      float block_max = -std::numeric_limits<float>::infinity();
      for (std::size_t j = 0; j < owns; ++j) block_max = std::max(block_max, weights[j]);
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
      // acc = acc * correction + sum_j weights[j] * value_j, in order of j: four batches of the
      // row at a time, so four FMA chains are in flight.
      float* acc = out + r * head_dim;
      std::size_t b = 0;
      for (; b + 4 <= n_batches; b += 4) {
        Batch sum[4];
        for (std::size_t k = 0; k < 4; ++k)
          sum[k] = Batch::load_unaligned(acc + (b + k) * kWidth) * Batch(correction);
        for (std::size_t j = 0; j < owns; ++j) {
          const Batch w(weights[j]);
          const float* row = block_values + j * block_stride + b * kWidth;
          for (std::size_t k = 0; k < 4; ++k)
            sum[k] = xsimd::fma(w, Batch::load_unaligned(row + k * kWidth), sum[k]);
        }
        for (std::size_t k = 0; k < 4; ++k) sum[k].store_unaligned(acc + (b + k) * kWidth);
      }
      for (; b < n_batches; ++b) {
        Batch sum = Batch::load_unaligned(acc + b * kWidth) * Batch(correction);
        for (std::size_t j = 0; j < owns; ++j) {
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

// Query r over keys [0, key_counts[r]): the queries of several tokens of a prompt, kMaxPass a
// pass, each pass over its own queries' largest count (the caller's overall one, n_keys, is not
// needed). A query's result is attend_group's over its own count, bit for bit.
template <class A, class Element, class Widen>
void attend_tokens(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                   const KvBlocks<Element>& kv, std::size_t /*n_keys*/, std::size_t head_dim,
                   float scale, float* out, Widen widen) {
  for (std::size_t first = 0; first < n_queries; first += kMaxPass) {
    const std::size_t count = std::min(kMaxPass, n_queries - first);
    const std::size_t* counts = key_counts + first;
    attend_pass<A>(queries + first * head_dim, count, counts, kv,
                   *std::max_element(counts, counts + count), head_dim, scale,
                   out + first * head_dim, widen);
  }
}

template <class A, class Element, class Widen>
void attend_group(const float* queries, std::size_t n_queries, const KvBlocks<Element>& kv,
                  std::size_t n_keys, std::size_t head_dim, float scale, float* out, Widen widen) {
  for (std::size_t first = 0; first < n_queries; first += kMaxPass) {
    attend_pass<A>(queries + first * head_dim, std::min(kMaxPass, n_queries - first), nullptr, kv,
                   n_keys, head_dim, scale, out + first * head_dim, widen);
  }
}

}  // namespace llama3::kernels::simd_attention

// A level's attention entry points (arch_kernels.hpp: attend_group_* and attend_tokens_* for f16,
// f32, q8_0 and bf16 rows) over the templates above, expanded inside the level's namespace: `arch`
// is its xsimd arch, `widen_f16` and `widen_q8_0` its conversions of one cache row to f32.
#define LLAMA3_SIMD_ATTENTION_PAIR(suffix, Element, arch, widen)                                   \
  void attend_group_##suffix(const float* queries, std::size_t n_queries,                          \
                             const KvBlocks<Element>& kv, std::size_t n_keys,                      \
                             std::size_t head_dim, float scale, float* out) {                      \
    simd_attention::attend_group<arch>(queries, n_queries, kv, n_keys, head_dim, scale, out,       \
                                       widen);                                                     \
  }                                                                                                \
  void attend_tokens_##suffix(const float* queries, std::size_t n_queries,                         \
                              const std::size_t* key_counts, const KvBlocks<Element>& kv,          \
                              std::size_t n_keys, std::size_t head_dim, float scale, float* out) { \
    simd_attention::attend_tokens<arch>(queries, n_queries, key_counts, kv, n_keys, head_dim,      \
                                        scale, out, widen);                                        \
  }
#define LLAMA3_SIMD_ATTENTION_ENTRIES(arch, widen_f16, widen_q8_0)  \
  LLAMA3_SIMD_ATTENTION_PAIR(f16, std::uint16_t, arch, widen_f16)   \
  /* an f32 row is read in place: the conversion is never called */ \
  LLAMA3_SIMD_ATTENTION_PAIR(f32, float, arch, widen_f16)           \
  LLAMA3_SIMD_ATTENTION_PAIR(q8_0, BlockQ8_0, arch, widen_q8_0)     \
  LLAMA3_SIMD_ATTENTION_PAIR(bf16, Bf16, arch, simd_attention::widen_bf16)
