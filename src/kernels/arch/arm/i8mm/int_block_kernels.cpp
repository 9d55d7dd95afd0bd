// The i8mm level's integer-block matmul (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 packed as in
// packed_matrix.hpp) for two or more tokens: SMMLA (vmmlaq_s32, FEAT_I8MM) multiplies a 2x8 s8
// tile by an 8x2 one into a 2x2 s32 tile, so one instruction gives 2 rows x 2 tokens x 8 values,
// where sdot gives 4 rows x 1 token x 4 values. One token goes to the dot-product level's kernel.
// Compiled with -march=armv8.2-a+dotprod+i8mm (src/CMakeLists.txt); everything here but the entry
// point has internal linkage, so no code built for these flags can be picked by the linker for a
// caller on a CPU without them (the rule arch/grow_only_scratch.hpp states for templates).
//
// Operands. A packed chunk holds 4 values of each of 16 rows (row i at bytes 4i..4i+3); a 16-byte
// part holds rows 4p..4p+3. Zipping the 32-bit lanes of chunk c's and chunk c+1's part gives rows
// (4p, 4p+1) and (4p+2, 4p+3) with 8 values each, the 2x8 weight tile. The 8x2 activation tile is
// the same 8 values of two tokens side by side. The s32 result [r0 t0, r0 t1, r1 t0, r1 t1] gets
// the f32 steps of the other levels (sum * (scale * d) + min * sum(q)) in their order, so the
// results equal the dot-product level's bit for bit (tests/kernels/test_matmul.cpp).
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/side_by_side_groups.hpp"

namespace llama3::kernels::i8mm {
namespace {

// The formats as in int_block_kernels_simd.hpp's IntFormat: kB values per block, two 4-bit values
// per byte (chunk c low nibbles, chunk c + kChunks/2 high), an f16 min per block, s8 + 128 bytes.
template <std::size_t kB_, bool kNibbles_, bool kMins_, bool kSigned_>
struct Format {
  static constexpr std::size_t kB = kB_;
  static constexpr bool kNibbles = kNibbles_;
  static constexpr bool kMins = kMins_;
  static constexpr bool kSigned = kSigned_;
  static constexpr std::size_t kChunks = kB / 4;  // even: chunks pair up into 8-value tiles
  static constexpr std::size_t kBlockBytes = kPackedGroupRows * kB / (kNibbles ? 2 : 1);
};

constexpr std::size_t kPartRows = 4;   // rows of one 16-byte part
constexpr std::size_t kPassParts = 2;  // a pass covers 8 rows: 4 s32 and 4 f32 tiles per pair
constexpr std::size_t kPasses = kPackedGroupRows / (kPartRows * kPassParts);
constexpr std::size_t kTilePairs = 2;    // token pairs sharing each unpacked weight tile
constexpr std::size_t kTokenChunk = 64;  // tokens whose activations stay in L2 (as the others)

// Chunk c's part p as s8: unsigned weights (at most 63) are valid s8; Q8_0's bytes minus 128.
template <class F>
inline int8x16_t weight_part(const std::uint8_t* block, std::size_t c, std::size_t p) {
  if constexpr (F::kNibbles) {
    constexpr std::size_t kHalf = F::kChunks / 2;
    const uint8x16_t raw = vld1q_u8(block + 64 * (c % kHalf) + 16 * p);
    return vreinterpretq_s8_u8(c < kHalf ? vandq_u8(raw, vdupq_n_u8(0x0F)) : vshrq_n_u8(raw, 4));
  } else {
    const uint8x16_t raw = vld1q_u8(block + 64 * c + 16 * p);
    if constexpr (F::kSigned) return vreinterpretq_s8_u8(veorq_u8(raw, vdupq_n_u8(0x80)));
    return vreinterpretq_s8_u8(raw);
  }
}

// [a, b, a, b]: a per-token value in the lanes of an SMMLA result tile.
inline float32x4_t token_lanes(float a, float b) {
  const float32x2_t pair = vset_lane_f32(b, vdup_n_f32(a), 1);
  return vcombine_f32(pair, pair);
}
inline int32x4_t token_lanes(std::int32_t a, std::int32_t b) {
  const int32x2_t pair = vset_lane_s32(b, vdup_n_s32(a), 1);
  return vcombine_s32(pair, pair);
}

// Tokens first + 0 .. first + kN - 1 (kN <= 2 * kTilePairs; an odd count pairs its last token
// with itself and drops the copy's results) against pass `pass` of one group.
template <class F, std::size_t kN>
void tile_pass(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group,
               std::size_t pass, std::size_t first, float* y) {
  constexpr std::size_t kPairs = (kN + 1) / 2;
  constexpr std::size_t kTiles = 2 * kPassParts;  // 2-row tiles of a pass
  const std::size_t cols = w.cols();
  const std::size_t nb = cols / F::kB;
  const std::size_t pass_row = pass * kPassParts * kPartRows;
  const std::uint16_t* scales = w.group_scales(group) + pass_row;  // [nb, 16] f16
  const std::uint16_t* mins = w.group_mins(group) + pass_row;      // [nb, 16] f16 (if kMins)
  const std::uint8_t* data = w.group_data(group);                  // [nb, kBlockBytes]
  std::size_t token[kPairs][2];
  for (std::size_t i = 0; i < kPairs; ++i) {
    token[i][0] = first + 2 * i;
    token[i][1] = first + std::min(2 * i + 1, kN - 1);
  }

  float32x4_t acc[kPairs][kTiles];  // [r t0, r t1, r+1 t0, r+1 t1]
  for (auto& pair : acc)
    for (auto& a : pair) a = vdupq_n_f32(0.0f);

  for (std::size_t b = 0; b < nb; ++b) {
    const std::uint8_t* block = data + b * F::kBlockBytes;
    int32x4_t sum[kPairs][kTiles];
    const std::int8_t* q[kPairs][2];  // [kB] each
    for (std::size_t i = 0; i < kPairs; ++i) {
      const int32x4_t init = F::kSigned ? vdupq_n_s32(0)
                                        : token_lanes(x.block_init[token[i][0] * nb + b],
                                                      x.block_init[token[i][1] * nb + b]);
      for (auto& s : sum[i]) s = init;
      for (std::size_t k = 0; k < 2; ++k) q[i][k] = x.qs.data() + token[i][k] * cols + b * F::kB;
    }
    for (std::size_t c = 0; c < F::kChunks; c += 2) {
      int8x16_t weights[kTiles];
      for (std::size_t p = 0; p < kPassParts; ++p) {
        const auto low = vreinterpretq_s32_s8(weight_part<F>(block, c, pass * kPassParts + p));
        const auto high = vreinterpretq_s32_s8(weight_part<F>(block, c + 1, pass * kPassParts + p));
        weights[2 * p] = vreinterpretq_s8_s32(vzip1q_s32(low, high));
        weights[2 * p + 1] = vreinterpretq_s8_s32(vzip2q_s32(low, high));
      }
      for (std::size_t i = 0; i < kPairs; ++i) {
        const int8x16_t activations =
            vcombine_s8(vld1_s8(q[i][0] + 4 * c), vld1_s8(q[i][1] + 4 * c));
        for (std::size_t r = 0; r < kTiles; ++r)
          sum[i][r] = vmmlaq_s32(sum[i][r], weights[r], activations);
      }
    }
    float32x4_t scale[kTiles];  // each row's scale twice, as the tiles hold rows
    float32x4_t min[kTiles];
    for (std::size_t p = 0; p < kPassParts; ++p) {
      const auto row = b * kPackedGroupRows + p * kPartRows;
      const float32x4_t s = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(scales + row)));
      scale[2 * p] = vzip1q_f32(s, s);
      scale[2 * p + 1] = vzip2q_f32(s, s);
      if constexpr (F::kMins) {
        const float32x4_t m = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(mins + row)));
        min[2 * p] = vzip1q_f32(m, m);
        min[2 * p + 1] = vzip2q_f32(m, m);
      }
    }
    for (std::size_t i = 0; i < kPairs; ++i) {
      const float32x4_t d =
          token_lanes(x.block_scales[token[i][0] * nb + b], x.block_scales[token[i][1] * nb + b]);
      [[maybe_unused]] const float32x4_t sums =
          token_lanes(x.block_sums[token[i][0] * nb + b], x.block_sums[token[i][1] * nb + b]);
      for (std::size_t r = 0; r < kTiles; ++r) {
        acc[i][r] = vfmaq_f32(acc[i][r], vcvtq_f32_s32(sum[i][r]), vmulq_f32(scale[r], d));
        if constexpr (F::kMins) acc[i][r] = vfmaq_f32(acc[i][r], min[r], sums);
      }
    }
  }

  const std::size_t first_row = group * kPackedGroupRows + pass_row;
  const std::size_t valid = std::min(kPassParts * kPartRows, w.rows() - first_row);
  for (std::size_t i = 0; i < kPairs; ++i) {
    for (std::size_t k = 0; k < 2 && 2 * i + k < kN; ++k) {
      float out[kPassParts * kPartRows];
      for (std::size_t p = 0; p < kPassParts; ++p) {
        const float32x4_t rows = k == 0 ? vuzp1q_f32(acc[i][2 * p], acc[i][2 * p + 1])
                                        : vuzp2q_f32(acc[i][2 * p], acc[i][2 * p + 1]);
        vst1q_f32(out + p * kPartRows, rows);
      }
      std::memcpy(y + token[i][k] * w.rows() + first_row, out, valid * sizeof(float));
    }
  }
}

template <class F>
void matmul_tokens(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                   std::size_t group_end, float* y) {
  for (std::size_t t0 = 0; t0 < x.n_tokens; t0 += kTokenChunk) {
    const std::size_t n = std::min(kTokenChunk, x.n_tokens - t0);
    for (std::size_t g = group_begin; g < group_end; ++g) {
      for (std::size_t pass = 0; pass < kPasses; ++pass) {
        // A pass over padding rows only (the second 8 rows of a short last group) has no output.
        if (g * kPackedGroupRows + pass * kPassParts * kPartRows >= w.rows()) break;
        for_token_tiles<2 * kTilePairs>(t0, n, [&](auto tokens, std::size_t first) {
          tile_pass<F, decltype(tokens)::value>(w, x, g, pass, first, y);
        });
      }
    }
  }
}

}  // namespace

void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                      std::size_t group_end, float* y) {
  if (x.n_tokens < 2) return dotprod::int_block_matmul(w, x, group_begin, group_end, y);
  const IntBlockFormat& f = w.format();
  const auto run = [&](auto format) {
    matmul_tokens<decltype(format)>(w, x, group_begin, group_end, y);
  };
  if (f.block_values == 16) {
    return f.zero_point == 128 ? run(Format<16, false, false, true>{})
                               : run(Format<16, false, false, false>{});
  }
  if (f.nibbles) {
    return f.has_mins ? run(Format<32, true, true, false>{})
                      : run(Format<32, true, false, false>{});
  }
  if (f.has_mins) return run(Format<32, false, true, false>{});
  if (f.zero_point == 128) return run(Format<32, false, false, true>{});
  return run(Format<32, false, false, false>{});
}

}  // namespace llama3::kernels::i8mm
