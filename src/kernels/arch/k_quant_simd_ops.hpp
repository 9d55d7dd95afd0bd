// The operations the xsimd K-quant kernels (k_quant_kernels_simd.hpp) need beyond xsimd 8.1, per
// arch, on xsimd batches: u8 x s8 byte dot products (pmaddubsw, then pmaddwd against ones), byte
// widening to i32, 16-bit shifts of byte batches, and f16 -> f32 loads (vcvtph2ps on AVX2, bit
// arithmetic on SSE4, which has no F16C). Templated on the xsimd arch and included only from the
// per-arch .cpp files compiled with that arch's flags (src/CMakeLists.txt), so each instantiation
// uses its own instructions and no two arches share a symbol.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <xsimd/xsimd.hpp>

namespace llama3::kernels::k_quant_simd {

// 256-bit integer instructions (AVX2; fma3<avx2> derives from avx2), else SSE4's 128-bit ones.
template <class Arch>
inline constexpr bool kWide = std::is_base_of_v<xsimd::avx2, Arch>;

template <class Arch>
using U8 = xsimd::batch<std::uint8_t, Arch>;
template <class Arch>
using I8 = xsimd::batch<std::int8_t, Arch>;
template <class Arch>
using U16 = xsimd::batch<std::uint16_t, Arch>;
template <class Arch>
using I16 = xsimd::batch<std::int16_t, Arch>;
template <class Arch>
using I32 = xsimd::batch<std::int32_t, Arch>;
template <class Arch>
using F32 = xsimd::batch<float, Arch>;

// Rows per f32 batch (8 on AVX2, 4 on SSE4): a batch of bytes holds 4 values of each of them.
template <class Arch>
inline constexpr std::size_t kLanes = F32<Arch>::size;

// Adjacent u8 * s8 products summed in pairs to s16. pmaddubsw saturates, so callers keep every
// s16 they form (and every sum of them they add up) within +-32767.
template <class Arch>
inline I16<Arch> dot_byte_pairs(U8<Arch> u, I8<Arch> s) {
  if constexpr (kWide<Arch>) {
    return _mm256_maddubs_epi16(u, s);
  } else {
    return _mm_maddubs_epi16(u, s);
  }
}

// Adjacent s16 summed in pairs to s32 (exact): with dot_byte_pairs, each 4-byte lane's dot.
template <class Arch>
inline I32<Arch> sum_word_pairs(I16<Arch> v) {
  if constexpr (kWide<Arch>) {
    return _mm256_madd_epi16(v, _mm256_set1_epi16(1));
  } else {
    return _mm_madd_epi16(v, _mm_set1_epi16(1));
  }
}

// The 4 bytes at `at` in every 4-byte lane.
// (A vector load, not a copy through a general register: GCC staged the memcpy form on the stack.)
template <class Arch>
inline I8<Arch> broadcast_4_bytes(const std::int8_t* at) {
  const __m128i value = _mm_loadu_si32(at);
  if constexpr (kWide<Arch>) {
    return _mm256_broadcastd_epi32(value);
  } else {
    return _mm_shuffle_epi32(value, 0);
  }
}

// kLanes bytes widened to f32, unsigned or signed.
template <class Arch, bool kSigned>
inline F32<Arch> load_bytes_as_f32(const std::uint8_t* at) {
  if constexpr (kWide<Arch>) {
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

// Each 16-bit lane shifted by kBits (left if positive): the kernels move bit planes within bytes
// and mask afterwards, so bits crossing into the next byte are dropped there.
template <int kBits, class Arch>
inline U8<Arch> shift_16(U8<Arch> v) {
  const U16<Arch> words = xsimd::bitwise_cast<U16<Arch>>(v);
  if constexpr (kBits > 0) return xsimd::bitwise_cast<U8<Arch>>(words << kBits);
  if constexpr (kBits < 0) return xsimd::bitwise_cast<U8<Arch>>(words >> -kBits);
  return v;
}

// kLanes f16 values to f32. SSE4 has no F16C: the bits are moved into f32 position and rebased
// (exponent + 112); infinities and NaNs get the rest of the exponent, and subnormals (and zero)
// are rebuilt as 2^-14 * (1 + m / 1024) - 2^-14, exact. Matches f16_to_f32 (half_float.hpp).
template <class Arch>
inline F32<Arch> load_f16(const std::uint8_t* at) {
  if constexpr (kWide<Arch>) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at)));
  } else {
    const __m128i h = _mm_cvtepu16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(at)));
    const __m128i sign = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x8000)), 16);
    __m128i bits = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x7fff)), 13);
    const __m128i exponent = _mm_and_si128(bits, _mm_set1_epi32(0x0f800000));
    bits = _mm_add_epi32(bits, _mm_set1_epi32(112 << 23));
    const __m128i special = _mm_cmpeq_epi32(exponent, _mm_set1_epi32(0x0f800000));
    bits = _mm_add_epi32(bits, _mm_and_si128(special, _mm_set1_epi32(112 << 23)));
    const __m128i tiny = _mm_cmpeq_epi32(exponent, _mm_setzero_si128());
    bits = _mm_add_epi32(bits, _mm_and_si128(tiny, _mm_set1_epi32(1 << 23)));
    const __m128 offset = _mm_and_ps(_mm_castsi128_ps(tiny), _mm_set1_ps(0x1p-14f));
    const __m128 magnitude = _mm_sub_ps(_mm_castsi128_ps(bits), offset);
    return _mm_or_ps(magnitude, _mm_castsi128_ps(sign));
  }
}

// Stores the first `valid` lanes of v (valid <= kLanes).
template <class Arch>
inline void store_first(F32<Arch> v, std::size_t valid, float* at) {
  if (valid == kLanes<Arch>) return v.store_unaligned(at);
  alignas(64) float lanes[kLanes<Arch>];
  v.store_aligned(lanes);
  for (std::size_t i = 0; i < valid; ++i) at[i] = lanes[i];
}

}  // namespace llama3::kernels::k_quant_simd
