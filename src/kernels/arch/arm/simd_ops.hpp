// The operations the xsimd kernel templates need beyond xsimd 8.1, for aarch64's Advanced SIMD
// (NEON): the same templates as x86/simd_ops.hpp, with the same results, so the int-block,
// K-quant, plain and attention kernels instantiate unchanged on xsimd::neon64. pmaddubsw (u8 x s8
// pairs to saturating s16) becomes widen, multiply and a saturating pairwise add; pmaddwd against
// ones becomes a pairwise widening add; psignb a select. f16 widens by FCVTL, which every ARMv8-A
// CPU has.
//
// The dot-product level (ARMv8.2 sdot, `NeonDotprod` below) is its own xsimd arch type, so that
// its instantiations are distinct symbols from the plain NEON ones (the files are compiled with
// different -march flags) and the templates can ask for its byte dot product (kHasByteDot).
#pragma once

#if defined(XSIMD_HPP)
#error \
    "include kernels/arch/arm/simd_ops.hpp before <xsimd/xsimd.hpp> (see the broadcast note below)"
#endif

#include <arm_neon.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <xsimd/config/xsimd_arch.hpp>  // the arch and register types, no kernels yet

namespace llama3::kernels::simd {

// xsimd's neon64 with the dot-product extension: same registers, its own type.
struct NeonDotprod : xsimd::neon64 {
  static constexpr char const* name() noexcept { return "arm64+dotprod"; }
};

}  // namespace llama3::kernels::simd

namespace xsimd {
template <class T, class A>
class batch;
namespace types {
XSIMD_DECLARE_SIMD_REGISTER_ALIAS(llama3::kernels::simd::NeonDotprod, neon64);
template <class T>
struct get_bool_simd_register<T, llama3::kernels::simd::NeonDotprod>
    : detail::neon_bool_simd_register<T, llama3::kernels::simd::NeonDotprod> {};
}  // namespace types
// xsimd 8.1's neon64 broadcast (a batch from a scalar) names neon64 where it means the caller's
// arch, which fails for a derived arch. These overloads match NeonDotprod exactly; they are
// declared before xsimd's batch constructors, which bind the name when xsimd.hpp is read.
namespace kernel {
template <class A, class T>
batch<T, A> broadcast(T val, requires_arch<llama3::kernels::simd::NeonDotprod>) noexcept;
template <class A>
batch<double, A> broadcast(double val, requires_arch<llama3::kernels::simd::NeonDotprod>) noexcept;
}  // namespace kernel
}  // namespace xsimd

#include <xsimd/xsimd.hpp>

namespace xsimd::kernel {
template <class A, class T>
batch<T, A> broadcast(T val, requires_arch<llama3::kernels::simd::NeonDotprod>) noexcept {
  return broadcast<A>(val, neon{});
}
template <class A>
batch<double, A> broadcast(double val, requires_arch<llama3::kernels::simd::NeonDotprod>) noexcept {
  return vdupq_n_f64(val);
}
}  // namespace xsimd::kernel

namespace llama3::kernels::simd {

// No 256-bit integer instructions here (the templates' x86 AVX2 paths).
template <class A>
inline constexpr bool kIs256 = false;

// True where the templates can add 4-byte s8 dot products straight into s32 sums (dot_bytes).
template <class A>
inline constexpr bool kHasByteDot = std::is_same_v<A, NeonDotprod>;

template <class A>
using U8 = xsimd::batch<std::uint8_t, A>;
template <class A>
using I8 = xsimd::batch<std::int8_t, A>;
template <class A>
using I16 = xsimd::batch<std::int16_t, A>;
template <class A>
using I32 = xsimd::batch<std::int32_t, A>;
template <class A>
using F32 = xsimd::batch<float, A>;

// Adjacent u8 * s8 products summed in pairs to s16, saturating as pmaddubsw does (every single
// product, at most 255 * 128, fits s16; callers keep the pair sums within range anyway).
template <class A>
inline I16<A> dot_byte_pairs(U8<A> u, I8<A> s) {
  const uint8x16_t uv = u;
  const int8x16_t sv = s;
  const int16x8_t low =
      vmulq_s16(vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(uv))), vmovl_s8(vget_low_s8(sv)));
  const int16x8_t high = vmulq_s16(vreinterpretq_s16_u16(vmovl_high_u8(uv)), vmovl_high_s8(sv));
  return vqaddq_s16(vuzp1q_s16(low, high), vuzp2q_s16(low, high));
}

// a + b per s16 lane, saturating (see x86/simd_ops.hpp for why the kernels want it).
template <class A>
inline I16<A> add_words(I16<A> a, I16<A> b) {
  return vqaddq_s16(a, b);
}

// Pins v's value to a register at this point of the sum chain it belongs to.
template <class A, class T>
inline void keep_order(xsimd::batch<T, A>& v) {
  auto reg = static_cast<typename xsimd::batch<T, A>::register_type>(v);
  asm("" : "+w"(reg));
  v = reg;
}

// Adjacent s16 values summed in pairs to s32 (exact).
template <class A>
inline I32<A> sum_word_pairs(I16<A> v) {
  return vpaddlq_s16(v);
}

// s with the sign of t applied per byte (s where t > 0, -s where t < 0, 0 where t == 0).
template <class A>
inline I8<A> sign_of(I8<A> s, I8<A> t) {
  const int8x16_t sv = s;
  const int8x16_t tv = t;
  const int8x16_t signed_s = vbslq_s8(vcltzq_s8(tv), vnegq_s8(sv), sv);
  return vandq_s8(signed_s, vreinterpretq_s8_u8(vtstq_s8(tv, tv)));
}

// sum + the dot product of each 4-byte group of a and b (s8 x s8 to s32): sdot, dot-product level
// only.
template <class A>
inline I32<A> dot_bytes(I32<A> sum, I8<A> a, I8<A> b) {
  static_assert(kHasByteDot<A>, "dot_bytes needs the dot-product level");
  return vdotq_s32(sum, a, b);
}

// The 4 bytes at `at` repeated in every 32-bit lane.
template <class A>
inline I8<A> broadcast_4_bytes(const std::int8_t* at) {
  std::int32_t value;
  std::memcpy(&value, at, 4);
  return vreinterpretq_s8_s32(vdupq_n_s32(value));
}

// F32<A>::size bytes widened to f32, unsigned or signed.
template <class A, bool kSigned>
inline F32<A> load_bytes_as_f32(const std::uint8_t* at) {
  std::uint32_t value;
  std::memcpy(&value, at, 4);
  const uint8x8_t raw = vcreate_u8(value);
  if constexpr (kSigned) {
    return vcvtq_f32_s32(vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_u8(raw)))));
  } else {
    return vcvtq_f32_u32(vmovl_u16(vget_low_u16(vmovl_u8(raw))));
  }
}

// F32<A>::size consecutive f16 values widened to f32, bit-exact (FCVTL).
template <class A>
inline F32<A> load_f16(const std::uint16_t* at) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(at)));
}

// F32<A>::size consecutive bf16 values widened to f32 (the upper 16 bits of an f32).
template <class A>
inline F32<A> load_bf16(const std::uint16_t* at) {
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(at), 16));
}

}  // namespace llama3::kernels::simd
