// The per-arch attention kernels (contract: attend_group_blocks_* in kernels/attention.hpp), each
// arch compiled in its own file with its own flags; attention.cpp picks one at run time. head_dim
// must be a multiple of the arch's vector width (16 floats for avx512, 8 for avx2, 4 for sse4) and
// at most 256.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kv_blocks.hpp"

#define LLAMA3_DECLARE_ATTENTION_KERNELS(arch)                                                  \
  namespace llama3::kernels::arch {                                                             \
  void attend_group_f16(const float* queries, std::size_t n_queries,                            \
                        const KvBlocks<std::uint16_t>& kv, std::size_t n_keys,                  \
                        std::size_t head_dim, float scale, float* out);                         \
  void attend_group_f32(const float* queries, std::size_t n_queries, const KvBlocks<float>& kv, \
                        std::size_t n_keys, std::size_t head_dim, float scale, float* out);     \
  }

LLAMA3_DECLARE_ATTENTION_KERNELS(sse4)
LLAMA3_DECLARE_ATTENTION_KERNELS(avx2)
LLAMA3_DECLARE_ATTENTION_KERNELS(avx512)

#undef LLAMA3_DECLARE_ATTENTION_KERNELS
