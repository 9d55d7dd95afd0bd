// Packed quant blocks, byte for byte as ggml lays them out (ggml-common.h; docs/facts.md §4 "Quant
// block layouts"). Scales are IEEE binary16 kept as raw bits, so every struct is plain bytes with
// no padding; the static_asserts pin sizes and offsets to the file format. Kernels copy a block out
// of (possibly unaligned, memory-mapped) storage with memcpy rather than casting the pointer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace llama3::kernels {

// Values per block of the "legacy" quants (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1).
inline constexpr std::size_t kLegacyBlockValues = 32;
// Values per super-block of the K-quants (ggml's QK_K).
inline constexpr std::size_t kSuperBlockValues = 256;

// y[j] = qs[j] * d.
struct BlockQ8_0 {
  std::uint16_t d;                 // f16 scale
  std::array<std::int8_t, 32> qs;  // signed quants, element order
};

// y[j] = ((qs[j] & 0xF) - 8) * d, y[j + 16] = ((qs[j] >> 4) - 8) * d.
struct BlockQ4_0 {
  std::uint16_t d;                  // f16 scale
  std::array<std::uint8_t, 16> qs;  // low nibble: element j, high nibble: element j + 16
};

// y[j] = nibble * d + m (nibbles placed as in Q4_0).
struct BlockQ4_1 {
  std::uint16_t d;                  // f16 scale
  std::uint16_t m;                  // f16 minimum (offset added to every value)
  std::array<std::uint8_t, 16> qs;  // low nibble: element j, high nibble: element j + 16
};

// y = ((nibble | high bit << 4) - 16) * d; the high bit of element j is bit j of qh
// (little-endian).
struct BlockQ5_0 {
  std::uint16_t d;                 // f16 scale
  std::array<std::uint8_t, 4> qh;  // fifth bits: bit j belongs to element j (j = 0..31)
  std::array<std::uint8_t, 16>
      qs;  // low four bits: low nibble element j, high nibble element j + 16
};

// y = (nibble | high bit << 4) * d + m.
struct BlockQ5_1 {
  std::uint16_t d;                  // f16 scale
  std::uint16_t m;                  // f16 minimum
  std::array<std::uint8_t, 4> qh;   // fifth bits: bit j belongs to element j
  std::array<std::uint8_t, 16> qs;  // low four bits, placed as in Q5_0
};

// Eight sub-blocks of 32: y = d * sc[s] * q - dmin * m[s], with 6-bit sc/m packed in `scales`.
struct BlockQ4_K {
  std::uint16_t d;     // f16 super-block scale of the sub-block scales
  std::uint16_t dmin;  // f16 super-block scale of the sub-block mins
  std::array<std::uint8_t, 12>
      scales;                        // 8 six-bit scales and 8 six-bit mins (see unpack_scale_min)
  std::array<std::uint8_t, 128> qs;  // chunk c (64 values) = qs[32c..32c+31]: low nibbles are
                                     // sub-block 2c, high nibbles sub-block 2c + 1
};

// As Q4_K with a fifth bit per value: q5 = nibble + 16 * bit.
struct BlockQ5_K {
  std::uint16_t d;                      // f16 super-block scale of the sub-block scales
  std::uint16_t dmin;                   // f16 super-block scale of the sub-block mins
  std::array<std::uint8_t, 12> scales;  // packed as in Q4_K
  std::array<std::uint8_t, 32> qh;      // fifth bits: bit 2c (low nibble) / 2c + 1 (high nibble) of
                                        // qh[l] belongs to value l of chunk c
  std::array<std::uint8_t, 128> qs;     // low four bits, placed as in Q4_K
};

// Sixteen sub-blocks of 16: y = d * sc[s] * (q6 - 32). Two halves of 128 values each.
struct BlockQ6_K {
  std::array<std::uint8_t, 128> ql;    // low four bits; half h uses ql[64h..64h+63]
  std::array<std::uint8_t, 64> qh;     // high two bits, four values per byte; half h uses qh[32h..]
  std::array<std::int8_t, 16> scales;  // signed 8-bit sub-block scales
  std::uint16_t d;                     // f16 super-block scale (last, unlike Q4_K/Q5_K)
};

static_assert(sizeof(BlockQ8_0) == 34 && offsetof(BlockQ8_0, qs) == 2);
static_assert(sizeof(BlockQ4_0) == 18 && offsetof(BlockQ4_0, qs) == 2);
static_assert(sizeof(BlockQ4_1) == 20 && offsetof(BlockQ4_1, qs) == 4);
static_assert(sizeof(BlockQ5_0) == 22 && offsetof(BlockQ5_0, qh) == 2 &&
              offsetof(BlockQ5_0, qs) == 6);
static_assert(sizeof(BlockQ5_1) == 24 && offsetof(BlockQ5_1, qh) == 4 &&
              offsetof(BlockQ5_1, qs) == 8);
static_assert(sizeof(BlockQ4_K) == 144 && offsetof(BlockQ4_K, scales) == 4 &&
              offsetof(BlockQ4_K, qs) == 16);
static_assert(sizeof(BlockQ5_K) == 176 && offsetof(BlockQ5_K, qh) == 16 &&
              offsetof(BlockQ5_K, qs) == 48);
static_assert(sizeof(BlockQ6_K) == 210 && offsetof(BlockQ6_K, qh) == 128 &&
              offsetof(BlockQ6_K, scales) == 192 && offsetof(BlockQ6_K, d) == 208);

// A 6-bit scale and min of one Q4_K/Q5_K sub-block.
struct ScaleMin {
  std::uint8_t scale;
  std::uint8_t min;
};

// ggml's get_scale_min_k4: sub-blocks 0..3 keep their 6 bits in the low bits of bytes 0..7;
// sub-blocks 4..7 keep their low 4 bits in bytes 8..11 and their top 2 bits in the spare top bits
// of bytes 0..7.
inline ScaleMin unpack_scale_min(const std::array<std::uint8_t, 12>& packed, std::size_t sub) {
  if (sub < 4) {
    return {static_cast<std::uint8_t>(packed[sub] & 63),
            static_cast<std::uint8_t>(packed[sub + 4] & 63)};
  }
  return {static_cast<std::uint8_t>((packed[sub + 4] & 0xF) | ((packed[sub - 4] >> 6) << 4)),
          static_cast<std::uint8_t>((packed[sub + 4] >> 4) | ((packed[sub] >> 6) << 4))};
}

// Inverse of unpack_scale_min for all eight sub-blocks; each scale and min must be below 64.
inline std::array<std::uint8_t, 12> pack_scale_mins(const std::array<ScaleMin, 8>& values) {
  std::array<std::uint8_t, 12> packed{};
  for (std::size_t sub = 0; sub < 4; ++sub) {
    packed[sub] = values[sub].scale;
    packed[sub + 4] = values[sub].min;
  }
  for (std::size_t sub = 4; sub < 8; ++sub) {
    const unsigned scale = values[sub].scale;
    const unsigned min = values[sub].min;
    packed[sub + 4] = static_cast<std::uint8_t>((scale & 0xF) | ((min & 0xF) << 4));
    packed[sub - 4] = static_cast<std::uint8_t>(packed[sub - 4] | ((scale >> 4) << 6));
    packed[sub] = static_cast<std::uint8_t>(packed[sub] | ((min >> 4) << 6));
  }
  return packed;
}

}  // namespace llama3::kernels
