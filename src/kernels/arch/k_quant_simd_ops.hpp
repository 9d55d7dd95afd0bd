// The operations the xsimd K-quant kernels (k_quant_kernels_simd.hpp) need beyond xsimd 8.1 and
// beyond the shared ones of x86/simd_ops.hpp (byte dot products, 4-byte broadcasts, f16 loads):
// 16-bit shifts of byte batches, partial stores. Templated on the xsimd arch and included only
// from the per-arch .cpp files compiled with that arch's flags (src/CMakeLists.txt), so each
// instantiation uses its own instructions and no two arches share a symbol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <xsimd/xsimd.hpp>

#include "kernels/arch/simd_ops.hpp"

namespace llama3::kernels::k_quant_simd {

using simd::broadcast_4_bytes;
using simd::dot_byte_pairs;
using simd::F32;
using simd::I16;
using simd::I32;
using simd::I8;
using simd::sum_word_pairs;
using simd::U8;
template <class Arch>
using U16 = xsimd::batch<std::uint16_t, Arch>;

// Rows per f32 batch (8 on AVX2, 4 on SSE4 and NEON): a batch of bytes holds 4 values of each of
// them.
template <class Arch>
inline constexpr std::size_t kLanes = F32<Arch>::size;

// kLanes f16 values to f32, from the packed layout's bytes (no alignment assumed).
template <class Arch>
inline F32<Arch> load_f16(const std::uint8_t* at) {
  return simd::load_f16<Arch>(reinterpret_cast<const std::uint16_t*>(at));
}

using simd::load_bytes_as_f32;

// Each 16-bit lane shifted by kBits (left if positive): the kernels move bit planes within bytes
// and mask afterwards, so bits crossing into the next byte are dropped there.
template <int kBits, class Arch>
inline U8<Arch> shift_16(U8<Arch> v) {
  const U16<Arch> words = xsimd::bitwise_cast<U16<Arch>>(v);
  if constexpr (kBits > 0) return xsimd::bitwise_cast<U8<Arch>>(words << kBits);
  if constexpr (kBits < 0) return xsimd::bitwise_cast<U8<Arch>>(words >> -kBits);
  return v;
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
