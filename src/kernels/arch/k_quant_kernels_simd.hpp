// xsimd kernels over the K-quants' super-block layout (k_quant_layout.hpp) for arches without
// VNNI (AVX2, SSE4; NEON and ARM's dot-product level), templated on the xsimd arch and
// instantiated in x86/<level>/k_quant_kernels.cpp and arm/<level>/kernels.cpp.
// The arithmetic is the AVX-512 kernels' (x86/avx512/k_quant_kernels.cpp): per 32-value activation
// block, the weights are unpacked from the bit planes with and/shift/or (the block index is a
// template parameter, so every shift is an immediate), then per token and sub-block an int32 dot,
// one convert, one FMA with (d * sub-scale) * activation scale and, for Q4_K/Q5_K, one FMA with
// -dmin * min times the activation block sum. A 64-byte VNNI chunk of 16 rows is kParts batches
// of kLanes rows (2 x 8 on AVX2, 4 x 4 on SSE4), and vpdpbusd becomes pmaddubsw (u8 x s8 pairs to
// s16) + pmaddwd against ones (pairs to s32). The one-token path is AVX-512's (4 groups side by
// side, prefetch ahead); the batch path makes one pass per row batch, with 8-token tiles.
//
// pmaddubsw saturates at +-32767, so each format adds its s16 pair sums over only as many chunks
// as stay below it before widening (kChunksPerWiden): activations are within +-127 (rounded to
// max|x| / 127), Q4_K quants <= 15, Q5_K <= 31, Q6_K <= 63 (its zero point 32 is applied through
// the activations' block_init, as on AVX-512). The int32 dots are then exact, so the results
// equal the AVX-512 kernels' wherever FMA exists (SSE4 rounds the product before the add).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/arch/k_quant_simd_ops.hpp"
#include "kernels/arch/prefetch_ahead.hpp"
#include "kernels/arch/side_by_side_groups.hpp"
#include "kernels/k_quant_layout.hpp"
#include "kernels/packed_matrix.hpp"
#include "kernels/quantized_activations.hpp"

namespace llama3::kernels::k_quant_simd {

inline constexpr std::size_t kBlocksPerSuper = kKSuperValues / 32;  // 32-value activation blocks

// Batches per 16-row group.
template <class Arch>
inline constexpr std::size_t kParts = kKGroupRows / kLanes<Arch>;

// Bytes of one part of a chunk: 4 values of kLanes rows.
template <class Arch>
inline constexpr std::size_t kPartBytes = 4 * kLanes<Arch>;

// Nibble `kHigh` of each byte.
template <bool kHigh, class Arch>
inline U8<Arch> nibble(U8<Arch> raw) {
  const U8<Arch> low(std::uint8_t{0x0F});
  if constexpr (kHigh) return shift_16<-4>(raw) & low;
  return raw & low;
}

template <class Arch>
inline U8<Arch> load(const std::uint8_t* at) {
  return U8<Arch>::load_unaligned(at);
}

// A super-block's per-row f16 factors, converted once for its 8 blocks: d and -dmin per part.
template <class Arch>
struct SuperFactors {
  F32<Arch> d[kParts<Arch>];
  F32<Arch> neg_dmin[kParts<Arch>];
};

// Per format: the sub-block shape, the part `p` of value chunk `k` (0..7) of 32-block kBlock
// (0..7) of a super-block, and that block's sub-block scales (and mins) for part p.
template <class Arch>
struct Q4K {
  static constexpr std::size_t kSubsPerBlock = 1;  // 32-value sub-blocks
  static constexpr std::size_t kScaleBytes = kQ4KScaleBytes;
  static constexpr std::size_t kDataBytes = kQ4KNibbleBytes;
  static constexpr bool kMins = true;
  static constexpr bool kZeroPoint = false;
  static constexpr std::size_t kChunksPerWiden = 8;  // 8 x 2 x 15 x 127 = 30480

  template <std::size_t kBlock>
  static U8<Arch> weights(const std::uint8_t* data, std::size_t k, std::size_t p) {
    const std::uint8_t* plane = data + (kBlock / 2) * 8 * kKChunkBytes;
    return nibble<kBlock % 2 == 1, Arch>(
        load<Arch>(plane + k * kKChunkBytes + p * kPartBytes<Arch>));
  }

  static void super_factors(const std::uint8_t* sb_scales, SuperFactors<Arch>& f) {
    for (std::size_t p = 0; p < kParts<Arch>; ++p) {
      f.d[p] = load_f16<Arch>(sb_scales + 2 * kLanes<Arch> * p);
      f.neg_dmin[p] = -load_f16<Arch>(sb_scales + kKMinOffset + 2 * kLanes<Arch> * p);
    }
  }

  template <std::size_t kBlock>
  static void scales(const std::uint8_t* sb_scales, const SuperFactors<Arch>& f, std::size_t p,
                     F32<Arch> (&scale)[1], F32<Arch> (&mins)[1]) {
    const std::uint8_t* sub = sb_scales + kKSubScaleOffset + 32 * kBlock + kLanes<Arch> * p;
    scale[0] = f.d[p] * load_bytes_as_f32<Arch, false>(sub);
    mins[0] = f.neg_dmin[p] * load_bytes_as_f32<Arch, false>(sub + 16);
  }
};

template <class Arch>
struct Q5K : Q4K<Arch> {
  static constexpr std::size_t kDataBytes = kQ4KNibbleBytes + kQ5KHighBitBytes;
  static constexpr std::size_t kChunksPerWiden = 4;  // 4 x 2 x 31 x 127 = 31496

  template <std::size_t kBlock>
  static U8<Arch> weights(const std::uint8_t* data, std::size_t k, std::size_t p) {
    const std::size_t at = k * kKChunkBytes + p * kPartBytes<Arch>;
    const std::uint8_t* plane = data + kQ5KHighBitBytes + (kBlock / 2) * 8 * kKChunkBytes;
    // Bit kBlock of each high-plane byte to bit 4.
    const U8<Arch> high = shift_16<4 - static_cast<int>(kBlock)>(load<Arch>(data + at));
    return (high & U8<Arch>(std::uint8_t{0x10})) |
           nibble<kBlock % 2 == 1, Arch>(load<Arch>(plane + at));
  }
};

template <class Arch>
struct Q6K {
  static constexpr std::size_t kSubsPerBlock = 2;  // 16-value sub-blocks
  static constexpr std::size_t kScaleBytes = kQ6KScaleBytes;
  static constexpr std::size_t kDataBytes = 2 * kQ6KHalfBytes;
  static constexpr bool kMins = false;
  static constexpr bool kZeroPoint = true;           // 32, in the activations' block_init
  static constexpr std::size_t kChunksPerWiden = 2;  // 2 x 2 x 63 x 127 = 32004

  template <std::size_t kBlock>
  static U8<Arch> weights(const std::uint8_t* data, std::size_t k, std::size_t p) {
    // Block kBlock is value chunks 8q..8q+7 of half h: nibble chunks 8(q % 2).. (high nibbles
    // when q >= 2), pair chunks 0..7 at bits 2q, 2q + 1.
    constexpr std::size_t h = kBlock / 4, q = kBlock % 4;
    const std::uint8_t* half = data + h * kQ6KHalfBytes;
    const std::size_t at = k * kKChunkBytes + p * kPartBytes<Arch>;
    const std::uint8_t* plane = half + (q % 2 == 1 ? kQ6KSecondNibbleOffset : 0);
    const U8<Arch> high =
        shift_16<4 - 2 * static_cast<int>(q)>(load<Arch>(half + kQ6KPairOffset + at));
    return (high & U8<Arch>(std::uint8_t{0x30})) | nibble<(q >= 2), Arch>(load<Arch>(plane + at));
  }

  static void super_factors(const std::uint8_t* sb_scales, SuperFactors<Arch>& f) {
    for (std::size_t p = 0; p < kParts<Arch>; ++p)
      f.d[p] = load_f16<Arch>(sb_scales + 2 * kLanes<Arch> * p);
  }

  template <std::size_t kBlock>
  static void scales(const std::uint8_t* sb_scales, const SuperFactors<Arch>& f, std::size_t p,
                     F32<Arch> (&scale)[2], F32<Arch> (&)[2]) {
    for (std::size_t u = 0; u < 2; ++u) {
      const std::uint8_t* sub =
          sb_scales + kQ6KSubScaleOffset + 16 * (2 * kBlock + u) + kLanes<Arch> * p;
      scale[u] = f.d[p] * load_bytes_as_f32<Arch, true>(sub);
    }
  }
};

// Part p of one 32-block of a super-block against kTokens tokens: token t's 32 activations at
// q + t * q_stride, its block quantities (scales, init, sums) from index b + t * b_stride.
// acc[t] += the part's kLanes row sums.
template <class Arch, class F, std::size_t kBlock, std::size_t kTokens>
inline void block_part(const std::uint8_t* sb_data, const F32<Arch> (&scale)[F::kSubsPerBlock],
                       const F32<Arch> (&mins)[F::kSubsPerBlock], std::size_t p,
                       const QuantizedActivations& x, const std::int8_t* q, std::size_t q_stride,
                       std::size_t b, std::size_t b_stride, F32<Arch> (&acc)[kTokens]) {
  constexpr std::size_t kChunksPerSub = 8 / F::kSubsPerBlock;
  for (std::size_t u = 0; u < F::kSubsPerBlock; ++u) {
    // The sub-block's weights stay in registers while each token's dot runs through them: only
    // one token's s16 sums are live at a time (all tokens' at once spilled to the stack).
    U8<Arch> w[kChunksPerSub];
    for (std::size_t c = 0; c < kChunksPerSub; ++c)
      w[c] = F::template weights<kBlock>(sb_data, u * kChunksPerSub + c, p);
    for (std::size_t t = 0; t < kTokens; ++t) {
      const std::int8_t* qt = q + t * q_stride + 4 * u * kChunksPerSub;
      const std::size_t bt = b + t * b_stride + u;
      I32<Arch> sum = F::kZeroPoint ? I32<Arch>(x.block_init[bt]) : I32<Arch>(0);
      if constexpr (simd::kHasByteDot<Arch>) {
        // sdot: every weight (at most 63) is a valid s8, the products go straight to s32.
        for (std::size_t c = 0; c < kChunksPerSub; ++c) {
          sum = simd::dot_bytes<Arch>(sum, xsimd::bitwise_cast<I8<Arch>>(w[c]),
                                      broadcast_4_bytes<Arch>(qt + 4 * c));
        }
      }
      for (std::size_t c0 = 0; c0 < kChunksPerSub && !simd::kHasByteDot<Arch>;
           c0 += F::kChunksPerWiden) {
        I16<Arch> pairs = dot_byte_pairs<Arch>(w[c0], broadcast_4_bytes<Arch>(qt + 4 * c0));
        for (std::size_t c = c0 + 1; c < c0 + F::kChunksPerWiden; ++c)
          pairs += dot_byte_pairs<Arch>(w[c], broadcast_4_bytes<Arch>(qt + 4 * c));
        sum += sum_word_pairs<Arch>(pairs);
      }
      const F32<Arch> scaled = scale[u] * F32<Arch>(x.block_scales[bt]);
      acc[t] = xsimd::fma(xsimd::batch_cast<float>(sum), scaled, acc[t]);
      if constexpr (F::kMins) acc[t] = xsimd::fma(mins[u], F32<Arch>(x.block_sums[bt]), acc[t]);
    }
  }
}

// Calls body.operator()<kBlock>() for kBlock = 0..7.
template <typename Body>
inline void for_each_block(const Body& body) {
  [&]<std::size_t... kBlock>(std::index_sequence<kBlock...>) {
    (body.template operator()<kBlock>(), ...);
  }
  (std::make_index_sequence<kBlocksPerSuper>{});
}

// The group's 16 row sums (acc: [kParts]) into y_row, rows past w.rows() dropped.
template <class Arch>
inline void store_group(const PackedMatrix& w, std::size_t group,
                        const F32<Arch> (&acc)[kParts<Arch>], float* y_row) {
  const std::size_t first_row = group * kPackedGroupRows;
  const std::size_t valid = std::min(kPackedGroupRows, w.rows() - first_row);
  for (std::size_t p = 0; p < kParts<Arch> && p * kLanes<Arch> < valid; ++p) {
    const std::size_t row = first_row + p * kLanes<Arch>;
    store_first<Arch>(acc[p], std::min(kLanes<Arch>, valid - p * kLanes<Arch>), y_row + row);
  }
}

// kTokens tokens from t0 against one group: each unpacked weight batch is reused by every token.
// One pass over the group's data per part (kLanes rows): within a pass nothing is shared between
// the parts, so GCC keeps no activation broadcasts live across them (it hoisted and spilled them
// when the parts ran inside the 32-block step).
template <class Arch, class F, std::size_t kTokens>
void k_tile(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group, std::size_t t0,
            float* y) {
  const std::size_t cols = w.cols();
  const std::size_t nb = cols / w.format().block_values;  // activation blocks per token
  const std::uint8_t* scales = w.group_super_scales(group);
  const std::uint8_t* data = w.group_data(group);
  const std::size_t first_row = group * kPackedGroupRows;
  const std::size_t valid = std::min(kPackedGroupRows, w.rows() - first_row);
  for (std::size_t p = 0; p < kParts<Arch> && p * kLanes<Arch> < valid; ++p) {
    F32<Arch> acc[kTokens];
    for (auto& a : acc) a = F32<Arch>(0.0f);
    for (std::size_t s = 0; s < w.super_blocks_per_row(); ++s) {
      const std::uint8_t* sb_scales = scales + s * F::kScaleBytes;
      const std::uint8_t* sb_data = data + s * F::kDataBytes;
      SuperFactors<Arch> factors;
      F::super_factors(sb_scales, factors);
      for_each_block([&]<std::size_t kBlock>() {
        const std::int8_t* q = x.qs.data() + t0 * cols + s * kKSuperValues + 32 * kBlock;
        const std::size_t b = t0 * nb + (s * kBlocksPerSuper + kBlock) * F::kSubsPerBlock;
        F32<Arch> scale[F::kSubsPerBlock], mins[F::kSubsPerBlock];
        F::template scales<kBlock>(sb_scales, factors, p, scale, mins);
        block_part<Arch, F, kBlock, kTokens>(sb_data, scale, mins, p, x, q, cols, b, nb, acc);
      });
    }
    const std::size_t row = first_row + p * kLanes<Arch>;
    const std::size_t lanes = std::min(kLanes<Arch>, valid - p * kLanes<Arch>);
    for (std::size_t t = 0; t < kTokens; ++t)
      store_first<Arch>(acc[t], lanes, y + (t0 + t) * w.rows() + row);
  }
}

// The batch kernel's tile: tokens per pass over a sub-block's weights (held in 8 registers; each
// token needs 3 or 4 more at a time, its accumulator may live in L1). Measured at AVX2 on a
// 2048 x 2048 matrix, 64 tokens, 1 thread: Q4_K 4 -> 140, 6 -> 151, 8 -> 175, 12 -> 168 GOP/s;
// Q6_K 4 -> 109, 8 -> 130, 12 -> 129.
inline constexpr std::size_t kTokenTile = 8;
// Tokens whose activations stay in L2 while every weight group of a thread streams past them.
inline constexpr std::size_t kTokenChunk = 64;

template <class Arch, class F>
void k_tiles(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group,
             std::size_t t0, std::size_t n, float* y) {
  for_token_tiles<kTokenTile>(t0, n, [&](auto tokens, std::size_t first) {
    k_tile<Arch, F, decltype(tokens)::value>(w, x, group, first, y);
  });
}

// One token against kStreams groups read side by side (independent memory streams and dot
// chains; see side_by_side_groups.hpp). Per group, k_tile<1>'s arithmetic in its order.
template <class Arch, class F, std::size_t kStreams>
void k_matvec_groups(const PackedMatrix& w, const QuantizedActivations& x,
                     const std::size_t (&groups)[kStreams], float* y) {
  const std::uint8_t* scales[kStreams];
  const std::uint8_t* data[kStreams];
  F32<Arch> acc[kStreams][kParts<Arch>][1];
  for (std::size_t i = 0; i < kStreams; ++i) {
    scales[i] = w.group_super_scales(groups[i]);
    data[i] = w.group_data(groups[i]);
    for (auto& a : acc[i]) a[0] = F32<Arch>(0.0f);
  }
  for (std::size_t s = 0; s < w.super_blocks_per_row(); ++s) {
    SuperFactors<Arch> factors[kStreams];
    for (std::size_t i = 0; i < kStreams; ++i)
      F::super_factors(scales[i] + s * F::kScaleBytes, factors[i]);
    for_each_block([&]<std::size_t kBlock>() {
      const std::size_t b = (s * kBlocksPerSuper + kBlock) * F::kSubsPerBlock;
      const std::int8_t* q = x.qs.data() + s * kKSuperValues + 32 * kBlock;
      for (std::size_t i = 0; i < kStreams; ++i) {
        const std::uint8_t* sb_scales = scales[i] + s * F::kScaleBytes;
        const std::uint8_t* sb_data = data[i] + s * F::kDataBytes;
        prefetch_k_quant_ahead<F, kBlock>(sb_scales, sb_data);
        for (std::size_t p = 0; p < kParts<Arch>; ++p) {
          F32<Arch> scale[F::kSubsPerBlock], mins[F::kSubsPerBlock];
          F::template scales<kBlock>(sb_scales, factors[i], p, scale, mins);
          block_part<Arch, F, kBlock, 1>(sb_data, scale, mins, p, x, q, 0, b, 0, acc[i][p]);
        }
      }
    });
  }
  for (std::size_t i = 0; i < kStreams; ++i) {
    F32<Arch> rows[kParts<Arch>];
    for (std::size_t p = 0; p < kParts<Arch>; ++p) rows[p] = acc[i][p][0];
    store_group<Arch>(w, groups[i], rows, y);
  }
}

template <class Arch, class F>
void k_matvec(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
              std::size_t group_end, float* y) {
  for_groups_side_by_side<4>(group_begin, group_end, [&](const auto& groups) {
    k_matvec_groups<Arch, F, streams_of<decltype(groups)>>(w, x, groups, y);
  });
}

template <class Arch, class F>
void k_matmul_format(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                     std::size_t group_end, float* y) {
  if (x.n_tokens == 1) return k_matvec<Arch, F>(w, x, group_begin, group_end, y);
  for (std::size_t t0 = 0; t0 < x.n_tokens; t0 += kTokenChunk) {
    const std::size_t n = std::min(kTokenChunk, x.n_tokens - t0);
    for (std::size_t g = group_begin; g < group_end; ++g) k_tiles<Arch, F>(w, x, g, t0, n, y);
  }
}

// The k_quant_matmul contract (k_quant_kernels.hpp) at arch Arch.
template <class Arch>
void k_quant_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                    std::size_t group_end, float* y) {
  switch (w.type()) {
    case io::TensorType::kQ4_K:
      return k_matmul_format<Arch, Q4K<Arch>>(w, x, group_begin, group_end, y);
    case io::TensorType::kQ5_K:
      return k_matmul_format<Arch, Q5K<Arch>>(w, x, group_begin, group_end, y);
    default:
      return k_matmul_format<Arch, Q6K<Arch>>(w, x, group_begin, group_end, y);
  }
}

}  // namespace llama3::kernels::k_quant_simd
