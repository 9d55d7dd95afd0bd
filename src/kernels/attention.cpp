#include "kernels/attention.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/half_float.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/kv_q8_0.hpp"

namespace llama3::kernels {
namespace {

// Value d of a cached row.
inline float element(const std::uint16_t* row, std::size_t d) {
  return f16_to_f32(row[d]);
}
inline float element(const BlockQ8_0* row, std::size_t d) {
  return q8_0_value(row, d);
}
inline float element(const Bf16* row, std::size_t d) {
  return bf16_value(row[d]);
}

constexpr std::size_t kMaxGroup = 16;  // query heads per pass; larger groups take several passes

// Key-major: every query of the group takes key j while its row is in L1.
template <typename Element>
void attend_portable(const float* queries, std::size_t n_queries, const KvBlocks<Element>& kv,
                     std::size_t n_keys, std::size_t head_dim, float scale, float* out) {
  std::array<float, kMaxGroup> running_max, denominator;
  running_max.fill(-std::numeric_limits<float>::infinity());
  denominator.fill(0.0f);
  std::fill(out, out + n_queries * head_dim, 0.0f);
  // An f16 or q8_0 row is widened to f32 first, so every cache type runs the same f32 loop below:
  // a compiler that fuses multiply-adds (aarch64) then fuses them alike for every type, and the
  // q8_0 loop stays bit-identical to the f32 loop over the dequantized rows.
  std::vector<float> wide_key, wide_value;
  if constexpr (!std::is_same_v<Element, float>) {
    wide_key.resize(head_dim);
    wide_value.resize(head_dim);
  }
  for (std::size_t j = 0; j < n_keys; ++j) {
    const float* key = nullptr;
    const float* value = nullptr;
    if constexpr (std::is_same_v<Element, float>) {
      key = kv.key_row(j);
      value = kv.value_row(j);
    } else {
      for (std::size_t d = 0; d < head_dim; ++d) {
        wide_key[d] = element(kv.key_row(j), d);
        wide_value[d] = element(kv.value_row(j), d);
      }
      key = wide_key.data();
      value = wide_value.data();
    }
    for (std::size_t r = 0; r < n_queries; ++r) {
      const float* query = queries + r * head_dim;
      float* acc = out + r * head_dim;
      float score = 0.0f;
      for (std::size_t d = 0; d < head_dim; ++d) score += query[d] * key[d];
      score *= scale;
      if (score > running_max[r]) {
        const float correction = std::exp(running_max[r] - score);
        denominator[r] *= correction;
        for (std::size_t d = 0; d < head_dim; ++d) acc[d] *= correction;
        running_max[r] = score;
      }
      const float weight = std::exp(score - running_max[r]);
      denominator[r] += weight;
      for (std::size_t d = 0; d < head_dim; ++d) acc[d] += weight * value[d];
    }
  }
  for (std::size_t r = 0; r < n_queries; ++r) {
    const float inverse = denominator[r] > 0.0f ? 1.0f / denominator[r] : 0.0f;
    for (std::size_t d = 0; d < head_dim; ++d) out[r * head_dim + d] *= inverse;
  }
}

// The table of the highest level at or below `arch` whose attention kernel takes this head size;
// null for the scalar level and for head sizes no vector kernel takes (the portable loop).
template <typename Element>
const KernelTable* attention_level(std::size_t head_dim, Arch arch) {
  if (head_dim > 256) return nullptr;
  for (const KernelTable* table = &kernel_table(arch); table->arch != Arch::kScalar;
       table = &kernel_table(table->lower)) {
    bool has_kernel = false;
    if constexpr (std::is_same_v<Element, float>) {
      has_kernel = table->attend_f32 != nullptr;
    } else if constexpr (std::is_same_v<Element, BlockQ8_0>) {
      has_kernel = table->attend_q8_0 != nullptr;
    } else if constexpr (std::is_same_v<Element, Bf16>) {
      has_kernel = table->attend_bf16 != nullptr;
    } else {
      has_kernel = table->attend_f16 != nullptr;
    }
    if (has_kernel && head_dim % table->attention_head_multiple == 0) return table;
  }
  return nullptr;
}

template <typename Element>
AttentionKernel<Element> group_kernel(const KernelTable& table) {
  if constexpr (std::is_same_v<Element, float>) {
    return table.attend_f32;
  } else if constexpr (std::is_same_v<Element, BlockQ8_0>) {
    return table.attend_q8_0;
  } else if constexpr (std::is_same_v<Element, Bf16>) {
    return table.attend_bf16;
  } else {
    return table.attend_f16;
  }
}

template <typename Element>
AttentionTokensKernel<Element> tokens_kernel(const KernelTable& table) {
  if constexpr (std::is_same_v<Element, float>) {
    return table.attend_tokens_f32;
  } else if constexpr (std::is_same_v<Element, BlockQ8_0>) {
    return table.attend_tokens_q8_0;
  } else if constexpr (std::is_same_v<Element, Bf16>) {
    return table.attend_tokens_bf16;
  } else {
    return table.attend_tokens_f16;
  }
}

template <typename Element>
void attend_group(const float* queries, std::size_t n_queries, const KvBlocks<Element>& kv,
                  std::size_t n_keys, std::size_t head_dim, float scale, float* out, Arch arch) {
  if (const KernelTable* table = attention_level<Element>(head_dim, arch)) {
    return group_kernel<Element>(*table)(queries, n_queries, kv, n_keys, head_dim, scale, out);
  }
  for (std::size_t first = 0; first < n_queries; first += kMaxGroup) {
    attend_portable(queries + first * head_dim, std::min(kMaxGroup, n_queries - first), kv, n_keys,
                    head_dim, scale, out + first * head_dim);
  }
}

// The level attend_group would pick takes all the queries at once when it has a tokens kernel;
// otherwise each run of queries with one key count goes to attend_group. n_keys: the largest count.
template <typename Element>
void attend_tokens(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                   const KvBlocks<Element>& kv, std::size_t n_keys, std::size_t head_dim,
                   float scale, float* out, Arch arch) {
  const KernelTable* table = attention_level<Element>(head_dim, arch);
  if (table && tokens_kernel<Element>(*table)) {
    return tokens_kernel<Element>(*table)(queries, n_queries, key_counts, kv, n_keys, head_dim,
                                          scale, out);
  }
  for (std::size_t first = 0; first < n_queries;) {
    std::size_t last = first + 1;
    while (last < n_queries && key_counts[last] == key_counts[first]) ++last;
    attend_group(queries + first * head_dim, last - first, kv, key_counts[first], head_dim, scale,
                 out + first * head_dim, arch);
    first = last;
  }
}

// A contiguous cache is one block that holds every key.
template <typename Element>
KvBlocks<Element> one_block(const Element* const& keys, const Element* const& values,
                            std::size_t stride, std::size_t n_keys) {
  return {&keys, &values, std::max<std::size_t>(n_keys, 1), stride};
}

}  // namespace

bool attention_rounds_q8_0_queries(std::size_t head_dim, Arch arch) {
  const KernelTable* table = attention_level<BlockQ8_0>(head_dim, arch);
  return table != nullptr && table->q8_0_attention_rounds_queries;
}

void attend_group_f16(const float* queries, std::size_t n_queries, const std::uint16_t* keys,
                      const std::uint16_t* values, std::size_t stride, std::size_t n_keys,
                      std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_group(queries, n_queries, one_block(keys, values, stride, n_keys), n_keys, head_dim, scale,
               out, arch);
}

void attend_group_f32(const float* queries, std::size_t n_queries, const float* keys,
                      const float* values, std::size_t stride, std::size_t n_keys,
                      std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_group(queries, n_queries, one_block(keys, values, stride, n_keys), n_keys, head_dim, scale,
               out, arch);
}

void attend_group_q8_0(const float* queries, std::size_t n_queries, const BlockQ8_0* keys,
                       const BlockQ8_0* values, std::size_t stride, std::size_t n_keys,
                       std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_group(queries, n_queries, one_block(keys, values, stride, n_keys), n_keys, head_dim, scale,
               out, arch);
}

void attend_group_blocks_f16(const float* queries, std::size_t n_queries,
                             const KvBlocks<std::uint16_t>& kv, std::size_t n_keys,
                             std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_group(queries, n_queries, kv, n_keys, head_dim, scale, out, arch);
}

void attend_group_blocks_f32(const float* queries, std::size_t n_queries, const KvBlocks<float>& kv,
                             std::size_t n_keys, std::size_t head_dim, float scale, float* out,
                             Arch arch) {
  attend_group(queries, n_queries, kv, n_keys, head_dim, scale, out, arch);
}

void attend_group_blocks_q8_0(const float* queries, std::size_t n_queries,
                              const KvBlocks<BlockQ8_0>& kv, std::size_t n_keys,
                              std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_group(queries, n_queries, kv, n_keys, head_dim, scale, out, arch);
}

void attend_tokens_f16(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                       const std::uint16_t* keys, const std::uint16_t* values, std::size_t stride,
                       std::size_t head_dim, float scale, float* out, Arch arch) {
  const std::size_t n_keys = n_queries ? *std::max_element(key_counts, key_counts + n_queries) : 0;
  attend_tokens(queries, n_queries, key_counts, one_block(keys, values, stride, n_keys), n_keys,
                head_dim, scale, out, arch);
}

void attend_tokens_f32(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                       const float* keys, const float* values, std::size_t stride,
                       std::size_t head_dim, float scale, float* out, Arch arch) {
  const std::size_t n_keys = n_queries ? *std::max_element(key_counts, key_counts + n_queries) : 0;
  attend_tokens(queries, n_queries, key_counts, one_block(keys, values, stride, n_keys), n_keys,
                head_dim, scale, out, arch);
}

void attend_tokens_q8_0(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                        const BlockQ8_0* keys, const BlockQ8_0* values, std::size_t stride,
                        std::size_t head_dim, float scale, float* out, Arch arch) {
  const std::size_t n_keys = n_queries ? *std::max_element(key_counts, key_counts + n_queries) : 0;
  attend_tokens(queries, n_queries, key_counts, one_block(keys, values, stride, n_keys), n_keys,
                head_dim, scale, out, arch);
}

void attend_group_bf16(const float* queries, std::size_t n_queries, const Bf16* keys,
                       const Bf16* values, std::size_t stride, std::size_t n_keys,
                       std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_group(queries, n_queries, one_block(keys, values, stride, n_keys), n_keys, head_dim, scale,
               out, arch);
}

void attend_group_blocks_bf16(const float* queries, std::size_t n_queries, const KvBlocks<Bf16>& kv,
                              std::size_t n_keys, std::size_t head_dim, float scale, float* out,
                              Arch arch) {
  attend_group(queries, n_queries, kv, n_keys, head_dim, scale, out, arch);
}

void attend_tokens_bf16(const float* queries, std::size_t n_queries, const std::size_t* key_counts,
                        const Bf16* keys, const Bf16* values, std::size_t stride,
                        std::size_t head_dim, float scale, float* out, Arch arch) {
  const std::size_t n_keys = n_queries ? *std::max_element(key_counts, key_counts + n_queries) : 0;
  attend_tokens(queries, n_queries, key_counts, one_block(keys, values, stride, n_keys), n_keys,
                head_dim, scale, out, arch);
}

namespace {

template <typename Element>
void attend_tokens_blocks(const float* queries, std::size_t n_queries,
                          const std::size_t* key_counts, const KvBlocks<Element>& kv,
                          std::size_t head_dim, float scale, float* out, Arch arch) {
  const std::size_t n_keys = n_queries ? *std::max_element(key_counts, key_counts + n_queries) : 0;
  attend_tokens(queries, n_queries, key_counts, kv, n_keys, head_dim, scale, out, arch);
}

}  // namespace

void attend_tokens_blocks_f16(const float* queries, std::size_t n_queries,
                              const std::size_t* key_counts, const KvBlocks<std::uint16_t>& kv,
                              std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_tokens_blocks(queries, n_queries, key_counts, kv, head_dim, scale, out, arch);
}

void attend_tokens_blocks_f32(const float* queries, std::size_t n_queries,
                              const std::size_t* key_counts, const KvBlocks<float>& kv,
                              std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_tokens_blocks(queries, n_queries, key_counts, kv, head_dim, scale, out, arch);
}

void attend_tokens_blocks_q8_0(const float* queries, std::size_t n_queries,
                               const std::size_t* key_counts, const KvBlocks<BlockQ8_0>& kv,
                               std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_tokens_blocks(queries, n_queries, key_counts, kv, head_dim, scale, out, arch);
}

void attend_tokens_blocks_bf16(const float* queries, std::size_t n_queries,
                               const std::size_t* key_counts, const KvBlocks<Bf16>& kv,
                               std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_tokens_blocks(queries, n_queries, key_counts, kv, head_dim, scale, out, arch);
}

}  // namespace llama3::kernels
