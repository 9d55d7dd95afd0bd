// The packed layout of the K-quants (Q4_K, Q5_K, Q6_K): as compact as the file, in VNNI order.
//
// A 16-row group of a K-quant matrix is, per 256-value super-block s of its rows:
//   scales[s]: d [16 rows] f16, (Q4_K, Q5_K) dmin [16 rows] f16, then the file's integer sub-block
//              scales one byte each, sub-block by sub-block: Q4_K/Q5_K [8 subs][scale 16 rows |
//              min 16 rows] (6-bit, unsigned), Q6_K [16 subs][16 rows] (int8).
//   data[s]:   the quants in 64-byte VNNI chunks (chunk = 4 consecutive values of the 16 rows, row
//   i
//              at bytes 4i..4i+3, the operand order of vpdpbusd), in bit planes that mirror the
//              file, so packing is 4-byte copies and unpacking a few and/shift/or per chunk. The
//              planes are ordered so that the kernels, going through the super-block 32 values at a
//              time, first touch its bytes in address order (the hardware prefetcher follows):
//     Q4_K:  2048 B nibble plane: chunk 8c + j (c < 4, j < 8) holds value chunk j of sub-block 2c
//     in
//            its low nibbles and of sub-block 2c + 1 in its high (the file's qs[32c + 4j ..]).
//     Q5_K:  a 512 B plane of fifth bits: chunk j holds in bit k of each byte the fifth bit of
//            value chunk j of sub-block k (the file's qh[4j ..]); then the Q4_K nibble plane.
//     Q6_K:  per 128-value half h, 1536 B: nibble chunks 0..7, the 8 chunks of high bit pairs, then
//            nibble chunks 8..15. Nibble chunk j holds value chunk j of the half in its low nibbles
//            and chunk j + 16 in its high (the file's ql[64h + 4j ..]); pair chunk j holds in bits
//            2p, 2p + 1 of each byte the top two bits of value chunk j + 8p (the file's
//            qh[32h + 4j ..]).
// Sizes per value: Q4_K 4.625 bits (file 4.5: scales and mins take a byte, not 6 bits), Q5_K
// 5.625 (file 5.5), Q6_K 6.5625 (as the file).
// A row's value is d * scale * q - dmin * min (Q4_K, Q5_K) or d * scale * (q - 32) (Q6_K).
#pragma once

#include <cstddef>
#include <cstdint>

#include "io/tensor_type.hpp"

namespace llama3::kernels {

inline constexpr std::size_t kKSuperValues = 256;
inline constexpr std::size_t kKGroupRows = 16;
inline constexpr std::size_t kKChunkBytes = 64;

// Bytes per super-block of one 16-row group.
inline constexpr std::size_t kQ4KScaleBytes = 2 * 32 + 8 * 32;  // d, dmin, [8][scale | min]
inline constexpr std::size_t kQ6KScaleBytes = 32 + 16 * 16;     // d, [16] scales
inline constexpr std::size_t kQ4KNibbleBytes = 2048;
inline constexpr std::size_t kQ5KHighBitBytes = 512;  // first, then the nibbles
inline constexpr std::size_t kQ6KHalfBytes = 1536;
inline constexpr std::size_t kQ6KPairOffset = 512;           // in a half: the high bit pairs
inline constexpr std::size_t kQ6KSecondNibbleOffset = 1024;  // in a half: nibble chunks 8..15

// Offsets inside a Q4_K/Q5_K super-block's scales: dmin after d; sub-block k's scales at
// kKSubScaleOffset + 32k (16 scale bytes, then 16 min bytes). Q6_K: sub-block k's 16 int8 scales
// at 32 + 16k.
inline constexpr std::size_t kKMinOffset = 32;
inline constexpr std::size_t kKSubScaleOffset = 64;
inline constexpr std::size_t kQ6KSubScaleOffset = 32;

inline constexpr bool is_k_quant(io::TensorType type) {
  return type == io::TensorType::kQ4_K || type == io::TensorType::kQ5_K ||
         type == io::TensorType::kQ6_K;
}

inline constexpr std::size_t k_quant_scale_bytes(io::TensorType type) {
  return type == io::TensorType::kQ6_K ? kQ6KScaleBytes : kQ4KScaleBytes;
}

inline constexpr std::size_t k_quant_data_bytes(io::TensorType type) {
  switch (type) {
    case io::TensorType::kQ4_K:
      return kQ4KNibbleBytes;
    case io::TensorType::kQ5_K:
      return kQ4KNibbleBytes + kQ5KHighBitBytes;
    default:
      return 2 * kQ6KHalfBytes;
  }
}

// Packs the rows [0, n_rows) (n_rows <= 16; the other rows of the group become zeros) of one
// group of a stored K-quant matrix.  stored: the group's first row; scales: [n_super,
// k_quant_scale_bytes]; data: [n_super, k_quant_data_bytes].
void pack_k_quant_group(io::TensorType type, const std::byte* stored, std::size_t row_bytes,
                        std::size_t n_rows, std::size_t n_super, std::uint8_t* scales,
                        std::uint8_t* data);

}  // namespace llama3::kernels
