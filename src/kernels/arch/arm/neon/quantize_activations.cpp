// The activation rounding (kernel_table.hpp's QuantizeRowKernel) on Advanced SIMD, bit for bit as
// the portable loop (quantized_activations.cpp): the same f32 products, FRINTN's round-half-to-even
// as std::nearbyint's default mode, integer sums. ARMv8-A baseline code, so every aarch64 level's
// table takes it (neon, dotprod, i8mm).
#include <arm_neon.h>

#include "kernels/arch/arch_kernels.hpp"

namespace llama3::kernels::neon {

void quantize_activation_row(const float* x, std::size_t cols, std::size_t block_values,
                             int zero_point, std::int8_t* q, float* scales, std::int32_t* init,
                             float* sums) {
  for (std::size_t b32 = 0; b32 < cols / 32; ++b32) {
    const float* in = x + b32 * 32;  // [32]
    float32x4_t values[8];
    float32x4_t amax = vdupq_n_f32(0.0f);
    for (std::size_t i = 0; i < 8; ++i) {
      values[i] = vld1q_f32(in + 4 * i);
      amax = vmaxq_f32(amax, vabsq_f32(values[i]));
    }
    const float d = vmaxvq_f32(amax) / 127.0f;
    const float32x4_t inverse = vdupq_n_f32(d > 0.0f ? 1.0f / d : 0.0f);
    int16x8_t halves[4];
    for (std::size_t i = 0; i < 4; ++i) {
      const int32x4_t low = vcvtq_s32_f32(vrndnq_f32(vmulq_f32(values[2 * i], inverse)));
      const int32x4_t high = vcvtq_s32_f32(vrndnq_f32(vmulq_f32(values[2 * i + 1], inverse)));
      halves[i] = vcombine_s16(vmovn_s32(low), vmovn_s32(high));
    }
    const int8x16_t first = vcombine_s8(vmovn_s16(halves[0]), vmovn_s16(halves[1]));
    const int8x16_t second = vcombine_s8(vmovn_s16(halves[2]), vmovn_s16(halves[3]));
    vst1q_s8(q + b32 * 32, first);
    vst1q_s8(q + b32 * 32 + 16, second);
    // Per weight block: a 32-block is one block of 32 or two of 16.
    const std::int32_t first_sum = vaddlvq_s8(first);
    const std::int32_t second_sum = vaddlvq_s8(second);
    if (block_values == 32) {
      const std::int32_t sum = first_sum + second_sum;
      scales[b32] = d;
      init[b32] = -zero_point * sum;
      sums[b32] = d * static_cast<float>(sum);
    } else {
      const std::int32_t half_sums[2] = {first_sum, second_sum};
      for (std::size_t h = 0; h < 2; ++h) {
        scales[2 * b32 + h] = d;
        init[2 * b32 + h] = -zero_point * half_sums[h];
        sums[2 * b32 + h] = d * static_cast<float>(half_sums[h]);
      }
    }
  }
}

}  // namespace llama3::kernels::neon
