// The entry points of an aarch64 level (arch_kernels.hpp) as the xsimd templates instantiated
// on that level's xsimd arch. Each level's kernels.cpp expands LLAMA3_ARM_LEVEL_KERNELS once, in a
// file compiled with the level's flags (src/CMakeLists.txt).
#pragma once

// First: it declares what xsimd must see before <xsimd/xsimd.hpp> (arm/simd_ops.hpp).
#include "kernels/arch/arm/simd_ops.hpp"

#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/arm/mask_row_neon.hpp"
#include "kernels/arch/attention_simd.hpp"
#include "kernels/arch/int_block_kernels_simd.hpp"
#include "kernels/arch/k_quant_kernels_simd.hpp"
#include "kernels/arch/plain_kernels_simd.hpp"
#include "kernels/arch/silu_mul_simd.hpp"
#include "kernels/half_float.hpp"

namespace llama3::kernels::simd {

// n f16 values (a multiple of 4: head_dim is one of the batch width) to f32 by FCVTL. Templated
// on the level's arch so that each level's copy is its own symbol (its address is taken).
template <class A>
void widen_f16(const std::uint16_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 4) load_f16<A>(in + i).store_unaligned(out + i);
}

// A q8_0 row of n values (a multiple of 4; kv_q8_0.hpp) to f32: 4 quants at a time sign-extended
// by SXTL and multiplied by the block's scale, exactly the values q8_0_value gives. Four bytes are
// read at a time so that no load passes the end of a block.
template <class A>
void widen_q8_0(const BlockQ8_0* row, float* out, std::size_t n) {
  for (std::size_t first = 0; first < n; first += kLegacyBlockValues, ++row) {
    const float d = f16_to_f32(row->d);
    const std::size_t count = std::min(kLegacyBlockValues, n - first);
    for (std::size_t i = 0; i < count; i += 4) {
      std::int32_t four;
      std::memcpy(&four, row->qs.data() + i, sizeof(four));
      const int16x8_t wide = vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(four)));
      const float32x4_t values = vcvtq_f32_s32(vmovl_s16(vget_low_s16(wide)));
      vst1q_f32(out + first + i, vmulq_n_f32(values, d));
    }
  }
}

}  // namespace llama3::kernels::simd

#define LLAMA3_ARM_LEVEL_KERNELS(level, SimdArch)                                                \
  namespace llama3::kernels::level {                                                             \
  void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x,                    \
                        std::size_t group_begin, std::size_t group_end, float* y) {              \
    simd::int_block_matmul<SimdArch>(w, x, group_begin, group_end, y);                           \
  }                                                                                              \
  void k_quant_matmul(const PackedMatrix& w, const QuantizedActivations& x,                      \
                      std::size_t group_begin, std::size_t group_end, float* y) {                \
    k_quant_simd::k_quant_matmul<SimdArch>(w, x, group_begin, group_end, y);                     \
  }                                                                                              \
  void plain_matmul(const PackedMatrix& w, const float* x, std::size_t n_tokens,                 \
                    std::size_t group_begin, std::size_t group_end, float* y) {                  \
    simd::plain_matmul<SimdArch>(w, x, n_tokens, group_begin, group_end, y);                     \
  }                                                                                              \
  LLAMA3_SIMD_ATTENTION_ENTRIES(SimdArch, simd::widen_f16<SimdArch>, simd::widen_q8_0<SimdArch>) \
  void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words) {  \
    mask_row_words::mask_row<simd::NeonMaskLanes>(row, n, allowed, n_words);                     \
  }                                                                                              \
  void silu_mul(float* gate, const float* up, std::size_t n) {                                   \
    simd::silu_mul<SimdArch>(gate, up, n);                                                       \
  }                                                                                              \
  }
