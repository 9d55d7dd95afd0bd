// The AVX512-BF16 attention kernels over a bf16 cache (attention_bf16.cpp), in the AVX-512 table
// only on CPUs that have the BF16 extension (cpu_has_avx512_bf16); elsewhere a bf16 cache goes to
// the next level's f32 kernel. Contracts: KernelTable::attend_* and attend_tokens_*.
#pragma once

#include <cstddef>

#include "kernels/kv_bf16.hpp"
#include "kernels/kv_blocks.hpp"

namespace llama3::kernels::avx512 {

void attend_group_bf16_dot(const float* queries, std::size_t n_queries, const KvBlocks<Bf16>& kv,
                           std::size_t n_keys, std::size_t head_dim, float scale, float* out);
void attend_tokens_bf16_dot(const float* queries, std::size_t n_queries,
                            const std::size_t* key_counts, const KvBlocks<Bf16>& kv,
                            std::size_t n_keys, std::size_t head_dim, float scale, float* out);

}  // namespace llama3::kernels::avx512
