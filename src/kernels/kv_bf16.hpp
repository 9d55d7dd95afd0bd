// Rows of the bf16 KV cache (docs/kv-cache.md): each value rounded to bfloat16 (the top 16 bits of
// its f32, round to nearest even) as it is stored. A distinct type from the f16 cache's raw
// uint16_t, so the attention kernels are chosen by what a row holds, not by its width.
#pragma once

#include <cstdint>

#include "kernels/half_float.hpp"

namespace llama3::kernels {

struct Bf16 {
  std::uint16_t bits;
};
static_assert(sizeof(Bf16) == 2);

inline float bf16_value(Bf16 x) {
  return bf16_to_f32(x.bits);
}
inline Bf16 to_bf16(float x) {
  return {f32_to_bf16(x)};
}

}  // namespace llama3::kernels
