// The aarch64 levels' mask_row (MaskRowKernel, kernel_table.hpp), the same for NEON and dotprod:
// 4-float stores of -infinity, and a bit select (vbsl) per 4 logits of a mixed word, its lane mask
// made from 4 bits of the word by vtst.
#pragma once

#include <arm_neon.h>

#include "kernels/arch/mask_row_words.hpp"

namespace llama3::kernels::simd {

struct NeonMaskLanes {
  static void forbid_all(float* p) {
    const float32x4_t forbidden = vdupq_n_f32(-INFINITY);
    for (std::size_t k = 0; k < 64; k += 4) vst1q_f32(p + k, forbidden);
  }
  static void forbid_clear(float* p, std::uint64_t bits) {
    const float32x4_t forbidden = vdupq_n_f32(-INFINITY);
    const std::uint32_t lane_bits[4] = {1, 2, 4, 8};
    const uint32x4_t lane_bit = vld1q_u32(lane_bits);
    for (std::size_t k = 0; k < 64; k += 4) {
      const uint32x4_t word_bits = vdupq_n_u32(static_cast<std::uint32_t>((bits >> k) & 0xF));
      // All ones in the lanes whose token is allowed.
      const uint32x4_t allowed = vtstq_u32(word_bits, lane_bit);
      vst1q_f32(p + k, vbslq_f32(allowed, vld1q_f32(p + k), forbidden));
    }
  }
};

}  // namespace llama3::kernels::simd
