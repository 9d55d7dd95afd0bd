// The few operations the xsimd kernels need that xsimd 8.1 does not offer, per arch, on xsimd
// batches: u8 x s8 byte dot products (pmaddubsw + pmaddwd), the byte sign trick (psignb), 4-byte
// broadcasts, byte widening, and f16/bf16 -> f32 loads (vcvtph2ps where F16C exists, bit
// arithmetic on SSE4). arm/simd_ops.hpp is the same for aarch64.
// Templated on the xsimd arch and included only from per-arch .cpp files compiled with that arch's
// flags (see src/CMakeLists.txt), so each instantiation is compiled for its own instructions.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <xsimd/xsimd.hpp>

namespace llama3::kernels::simd {

// 256-bit integer instructions (AVX2; fma3<avx2> derives from avx2); otherwise SSE4 (128-bit).
template <class A>
inline constexpr bool kIs256 = std::is_base_of_v<xsimd::avx2, A>;

// x86 has no level whose xsimd kernels add byte dot products straight into s32 (VNNI belongs to
// the AVX-512 level's own intrinsics kernels); see arm/simd_ops.hpp.
template <class A>
inline constexpr bool kHasByteDot = false;

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

// Declared for the templates' kHasByteDot branches, which x86 never instantiates.
template <class A>
I32<A> dot_bytes(I32<A> sum, I8<A> a, I8<A> b);

// Adjacent u8 * s8 products summed in pairs to s16. pmaddubsw saturates: callers keep every
// |pair| (and every s16 sum of pairs they add up) <= 32767.
template <class A>
inline I16<A> dot_byte_pairs(U8<A> u, I8<A> s) {
  if constexpr (kIs256<A>) {
    return _mm256_maddubs_epi16(u, s);
  } else {
    return _mm_maddubs_epi16(u, s);
  }
}

// a + b per s16 lane, saturating. The kernels' s16 sums never saturate (see IntFormat::kWiden),
// so this is a plain add; being non-associative it keeps GCC from rebalancing a chain of sums into
// a tree whose products all stay live at once (which spilled a tile's sums to the stack).
template <class A>
inline I16<A> add_words(I16<A> a, I16<A> b) {
  if constexpr (kIs256<A>) {
    return _mm256_adds_epi16(a, b);
  } else {
    return _mm_adds_epi16(a, b);
  }
}

// Pins v's value to a register at this point of the sum chain it belongs to: the same guard as
// add_words for s32 chains, where no non-associative add exists.
template <class A, class T>
inline void keep_order(xsimd::batch<T, A>& v) {
  auto reg = static_cast<typename xsimd::batch<T, A>::register_type>(v);
  asm("" : "+x"(reg));
  v = reg;
}

// Adjacent s16 values summed in pairs to s32 (exact).
template <class A>
inline I32<A> sum_word_pairs(I16<A> v) {
  if constexpr (kIs256<A>) {
    return _mm256_madd_epi16(v, _mm256_set1_epi16(1));
  } else {
    return _mm_madd_epi16(v, _mm_set1_epi16(1));
  }
}

// s with the sign of t applied per byte (s where t > 0, -s where t < 0, 0 where t == 0).
template <class A>
inline I8<A> sign_of(I8<A> s, I8<A> t) {
  if constexpr (kIs256<A>) {
    return _mm256_sign_epi8(s, t);
  } else {
    return _mm_sign_epi8(s, t);
  }
}

// The 4 bytes at `at` repeated in every 32-bit lane. A vector load, not a copy through a general
// register: GCC staged the memcpy form on the stack in the K-quant kernels.
template <class A>
inline I8<A> broadcast_4_bytes(const std::int8_t* at) {
  const __m128i value = _mm_loadu_si32(at);
  if constexpr (kIs256<A>) {
    return _mm256_broadcastd_epi32(value);
  } else {
    return _mm_shuffle_epi32(value, 0);
  }
}

// F32<A>::size consecutive f16 values widened to f32, bit-exact.
template <class A>
inline F32<A> load_f16(const std::uint16_t* at) {
  if constexpr (kIs256<A>) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at)));
  } else {
    // No F16C: sign-extend each half to 32 bits and shift its exponent and mantissa into f32
    // position (the sign lands on bit 31, copies of it on bits 28-30 are masked off); scaling by
    // 2^112 then re-biases the exponent and turns f16 subnormals into exact f32 normals (this
    // needs denormals-are-zero off, the default). Inf/NaN (exponent 31) get the f32 exponent 255.
    const __m128i halves =
        _mm_cvtepi16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(at)));
    const __m128i bits =
        _mm_and_si128(_mm_slli_epi32(halves, 13), _mm_set1_epi32(static_cast<int>(0x8fffe000u)));
    const __m128 value = _mm_mul_ps(_mm_castsi128_ps(bits), _mm_set1_ps(0x1p112f));
    const __m128i exponent_bits = _mm_set1_epi32(0x0f800000);
    const __m128i inf_or_nan = _mm_cmpeq_epi32(_mm_and_si128(bits, exponent_bits), exponent_bits);
    return _mm_or_ps(value,
                     _mm_castsi128_ps(_mm_and_si128(inf_or_nan, _mm_set1_epi32(0x7f800000))));
  }
}

// F32<A>::size bytes widened to f32, unsigned or signed.
template <class A, bool kSigned>
inline F32<A> load_bytes_as_f32(const std::uint8_t* at) {
  if constexpr (kIs256<A>) {
    const __m128i raw = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(at));
    const __m256i wide = kSigned ? _mm256_cvtepi8_epi32(raw) : _mm256_cvtepu8_epi32(raw);
    return _mm256_cvtepi32_ps(wide);
  } else {
    std::int32_t value;
    std::memcpy(&value, at, 4);
    const __m128i raw = _mm_cvtsi32_si128(value);
    const __m128i wide = kSigned ? _mm_cvtepi8_epi32(raw) : _mm_cvtepu8_epi32(raw);
    return _mm_cvtepi32_ps(wide);
  }
}

// F32<A>::size consecutive bf16 values widened to f32 (the upper 16 bits of an f32).
template <class A>
inline F32<A> load_bf16(const std::uint16_t* at) {
  if constexpr (kIs256<A>) {
    const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
  } else {
    const __m128i bits = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(at));
    return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), bits));
  }
}

}  // namespace llama3::kernels::simd
