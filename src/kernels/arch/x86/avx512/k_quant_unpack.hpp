// The K-quants' 32-value blocks unpacked to VNNI chunks, and their sub-block scales, with AVX-512
// (the layout: k_quant_layout.hpp). Shared by the AVX-512 level's K-quant kernels and the AMX
// level's tiles (x86/amx/), which must scale the same values in the same order to agree bit for
// bit. Only files compiled with the AVX-512 flags include this; everything is in an unnamed
// namespace, so each of them has its own copies (an inline function shared across files compiled
// with different flags could be emitted by one and linked into another).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/k_quant_layout.hpp"

namespace llama3::kernels {
namespace {

constexpr std::size_t kBlocksPerSuper = kKSuperValues / 32;  // 32-value activation blocks

inline __m512i load(const std::uint8_t* at) {
  return _mm512_loadu_si512(at);
}

// (a & b) | c
inline __m512i and_or(__m512i a, __m512i b, __m512i c) {
  return _mm512_ternarylogic_epi32(a, b, c, 0xEA);
}

// Nibble `kHigh` of each byte.
template <bool kHigh>
inline __m512i nibble(__m512i raw) {
  const __m512i low = _mm512_set1_epi8(0x0F);
  if constexpr (kHigh) return _mm512_and_si512(_mm512_srli_epi16(raw, 4), low);
  return _mm512_and_si512(raw, low);
}

// Scales of one sub-block of 16 rows: d * integer scale as f32.
template <bool kSigned>
inline __m512 sub_scale(const std::uint8_t* bytes, __m512 d) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
  const __m512i wide = kSigned ? _mm512_cvtepi8_epi32(raw) : _mm512_cvtepu8_epi32(raw);
  return _mm512_mul_ps(d, _mm512_cvtepi32_ps(wide));
}

inline __m512 load_f16(const std::uint8_t* at) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)));
}

// Per type: the sub-block shape, and for 32-block A (0..7) of a super-block its 8 weight chunks
// (value chunk k of the block in w[k]) and its sub-blocks' scales (and mins).
struct Q4K {
  static constexpr std::size_t kSubsPerBlock = 1;  // 32-value sub-blocks
  static constexpr std::size_t kScaleBytes = kQ4KScaleBytes;
  static constexpr std::size_t kDataBytes = kQ4KNibbleBytes;
  static constexpr bool kMins = true;
  static constexpr bool kZeroPoint = false;

  template <std::size_t A>
  static void unpack(const std::uint8_t* data, __m512i (&w)[8]) {
    const std::uint8_t* plane = data + (A / 2) * 8 * kKChunkBytes;
    for (std::size_t k = 0; k < 8; ++k) w[k] = nibble<A % 2 == 1>(load(plane + k * kKChunkBytes));
  }
  template <std::size_t A>
  static void scales(const std::uint8_t* sb_scales, __m512 (&scale)[1], __m512 (&mins)[1]) {
    const __m512 d = load_f16(sb_scales);
    const __m512 dmin = load_f16(sb_scales + kKMinOffset);
    const std::uint8_t* sub = sb_scales + kKSubScaleOffset + 32 * A;
    scale[0] = sub_scale<false>(sub, d);
    mins[0] = sub_scale<false>(sub + 16, _mm512_sub_ps(_mm512_setzero_ps(), dmin));
  }
};

struct Q5K : Q4K {
  static constexpr std::size_t kDataBytes = kQ4KNibbleBytes + kQ5KHighBitBytes;

  template <std::size_t A>
  static void unpack(const std::uint8_t* data, __m512i (&w)[8]) {
    const std::uint8_t* high_plane = data;
    const std::uint8_t* plane = data + kQ5KHighBitBytes + (A / 2) * 8 * kKChunkBytes;
    const __m512i bit4 = _mm512_set1_epi8(0x10);
    for (std::size_t k = 0; k < 8; ++k) {
      // Bit A of each byte to bit 4 (16-bit shifts: the bits kept never cross a byte).
      const __m512i high = load(high_plane + k * kKChunkBytes);
      __m512i moved = high;
      if constexpr (A < 4) moved = _mm512_slli_epi16(high, 4 - A);
      if constexpr (A > 4) moved = _mm512_srli_epi16(high, A - 4);
      w[k] = and_or(moved, bit4, nibble<A % 2 == 1>(load(plane + k * kKChunkBytes)));
    }
  }
};

struct Q6K {
  static constexpr std::size_t kSubsPerBlock = 2;  // 16-value sub-blocks
  static constexpr std::size_t kScaleBytes = kQ6KScaleBytes;
  static constexpr std::size_t kDataBytes = 2 * kQ6KHalfBytes;
  static constexpr bool kMins = false;
  static constexpr bool kZeroPoint = true;  // 32, in the activations' block_init

  template <std::size_t A>
  static void unpack(const std::uint8_t* data, __m512i (&w)[8]) {
    // Block A is value chunks 8p..8p+7 of half h: nibble chunks 8(p % 2).. (high nibbles when
    // p >= 2), pair chunks 0..7 at bits 2p, 2p + 1.
    constexpr std::size_t h = A / 4, p = A % 4;
    const std::uint8_t* half = data + h * kQ6KHalfBytes;
    const std::uint8_t* plane = half + (p % 2 == 1 ? kQ6KSecondNibbleOffset : 0);
    const std::uint8_t* high_plane = half + kQ6KPairOffset;
    const __m512i bits45 = _mm512_set1_epi8(0x30);
    for (std::size_t k = 0; k < 8; ++k) {
      const __m512i high = load(high_plane + k * kKChunkBytes);
      __m512i moved = high;
      if constexpr (p < 2) moved = _mm512_slli_epi16(high, 4 - 2 * p);
      if constexpr (p == 3) moved = _mm512_srli_epi16(high, 2);
      w[k] = and_or(moved, bits45, nibble<(p >= 2)>(load(plane + k * kKChunkBytes)));
    }
  }
  template <std::size_t A>
  static void scales(const std::uint8_t* sb_scales, __m512 (&scale)[2], __m512 (&)[2]) {
    const __m512 d = load_f16(sb_scales);
    for (std::size_t u = 0; u < 2; ++u) {
      scale[u] = sub_scale<true>(sb_scales + kQ6KSubScaleOffset + 16 * (2 * A + u), d);
    }
  }
};

// Calls body.operator()<A>() for A = 0..7.
template <typename Body>
inline void for_each_block(const Body& body) {
  [&]<std::size_t... A>(std::index_sequence<A...>) {
    (body.template operator()<A>(), ...);
  }
  (std::make_index_sequence<kBlocksPerSuper>{});
}

}  // namespace
}  // namespace llama3::kernels
