// One query head attending over cached keys/values, in one pass with an online softmax (running max
// and denominator, the output rescaled when the max grows): no [n_keys] score buffer, no n x n
// matrix. Keys/values are rows of an f16 or f32 cache; `stride` is the distance between positions,
// in elements, so GQA heads read their KV head by offset without copying.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu_arch.hpp"

namespace llama3::kernels {

// out = sum_j softmax_j(scale * query . key_j) * value_j over j < n_keys.
// query, out: [head_dim]; keys, values: n_keys rows of head_dim at `stride`.
void attend_head_f16(const float* query, const std::uint16_t* keys, const std::uint16_t* values,
                     std::size_t stride, std::size_t n_keys, std::size_t head_dim, float scale,
                     float* out, Arch arch = active_arch());
void attend_head_f32(const float* query, const float* keys, const float* values, std::size_t stride,
                     std::size_t n_keys, std::size_t head_dim, float scale, float* out,
                     Arch arch = active_arch());

// The per-arch f16 kernels (kernels/arch/attention_*.cpp): head_dim a multiple of 16 (AVX-512),
// 8 (AVX2) or 4 (SSE4), at most 256.
#define LLAMA3_DECLARE_ATTENTION_KERNEL(arch)                                                      \
  namespace arch {                                                                                 \
  void attend_head_f16(const float* query, const std::uint16_t* keys, const std::uint16_t* values, \
                       std::size_t stride, std::size_t n_keys, std::size_t head_dim, float scale,  \
                       float* out);                                                                \
  }
LLAMA3_DECLARE_ATTENTION_KERNEL(sse4)
LLAMA3_DECLARE_ATTENTION_KERNEL(avx2)
LLAMA3_DECLARE_ATTENTION_KERNEL(avx512)
#undef LLAMA3_DECLARE_ATTENTION_KERNEL

}  // namespace llama3::kernels
