// Integer-block kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 packed as in packed_matrix.hpp) as xsimd
// code templated on the arch, for the AVX2 and SSE4 instantiations (x86/{avx2,sse4}/) and the
// NEON and dot-product ones (arm/{neon,dotprod}/; the ops per family in simd_ops.hpp). The walk
// mirrors the AVX-512 kernels (x86/avx512/int_block_kernels.cpp): one token reads 4 groups side by
// side; a batch reuses each unpacked weight chunk across a register tile of tokens. Without VNNI
// the byte dot products are pmaddubsw (u8 x s8 pairs to saturating s16) + pmaddwd (s16 pairs to
// s32), so the formats differ in how many chunks may add up in s16 before widening
// (IntFormat::kWiden) and Q8_0 uses the sign trick.
//
// A 64-byte chunk holds 4 values of each of 16 rows (row i at bytes 4i..4i+3); one vector of W
// bytes is W/4 rows, "a part". A pass covers kPassParts parts (16 rows on AVX2, 8 on SSE4), small
// enough that a tile's s16 sums stay in the 16 vector registers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include "kernels/arch/prefetch_ahead.hpp"
#include "kernels/arch/side_by_side_groups.hpp"
#include "kernels/arch/simd_ops.hpp"
#include "kernels/packed_matrix.hpp"
#include "kernels/quantized_activations.hpp"

namespace llama3::kernels::simd {

// kB values per block; kNibbles: two 4-bit values per byte (chunk c low, chunk c + kChunks/2
// high); kMins: an f16 min per block; kSigned: bytes are s8 + 128 (Q8_0, zero point 128).
template <std::size_t kB_, bool kNibbles_, bool kMins_, bool kSigned_>
struct IntFormat {
  static constexpr std::size_t kB = kB_;
  static constexpr bool kNibbles = kNibbles_;
  static constexpr bool kMins = kMins_;
  static constexpr bool kSigned = kSigned_;
  static constexpr std::size_t kChunks = kB / 4;
  static constexpr std::size_t kBlockBytes = kPackedGroupRows * kB / (kNibbles ? 2 : 1);
  // Largest unsigned weight: nibbles 15; the other unsigned byte formats are Q5_0/Q5_1 (5 bits)
  // or, with 16-value blocks, 6-bit (zero point 32).
  static constexpr int kMaxWeight = kNibbles ? 15 : (kB == 16 ? 63 : 31);
  // Chunks whose s16 pair sums may add up before pmaddwd, with |activation| <= 127: a pair is at
  // most 2 * kMaxWeight * 127 (nibbles: 3810, 8 chunks 30480; 5-bit: 7874, 4 chunks 31496). Q8_0
  // goes signed: |w| <= 128 against a sign-adjusted activation, 32512 a pair, so every chunk
  // widens at once.
  static constexpr std::size_t kWiden =
      kSigned ? 1 : std::min<std::size_t>(kChunks, 32767 / (2 * 127 * kMaxWeight));
};

// body(std::integral_constant<std::size_t, i>{}) for i = 0..N-1, unrolled at compile time.
template <std::size_t N, typename Body>
inline void unroll(Body&& body) {
  [&]<std::size_t... i>(std::index_sequence<i...>) {
    (body(std::integral_constant<std::size_t, i>{}), ...);
  }
  (std::make_index_sequence<N>{});
}

template <class A>
inline constexpr std::size_t kPartRows = F32<A>::size;  // rows per vector of bytes
template <class A>
inline constexpr std::size_t kParts = kPackedGroupRows / kPartRows<A>;
template <class A>
inline constexpr std::size_t kPassParts = std::min<std::size_t>(kParts<A>, 2);

// Bytes of chunk `c` (of kChunks) for part `p`, as the unsigned operand of dot_byte_pairs: with
// nibbles, chunk c and c + kChunks/2 share bytes.
template <class A, class F>
inline U8<A> weight_part(const std::uint8_t* block, std::size_t c, std::size_t p) {
  constexpr std::size_t kPartBytes = 4 * kPartRows<A>;
  if constexpr (F::kNibbles) {
    constexpr std::size_t kHalf = F::kChunks / 2;
    const auto raw = U8<A>::load_aligned(block + 64 * (c % kHalf) + kPartBytes * p);
    const U8<A> low_nibbles(0x0F);
    if (c < kHalf) return raw & low_nibbles;
    return xsimd::bitwise_cast<U8<A>>(xsimd::bitwise_cast<xsimd::batch<std::uint16_t, A>>(raw) >>
                                      4) &
           low_nibbles;
  } else {
    return U8<A>::load_aligned(block + 64 * c + kPartBytes * p);
  }
}

// One chunk's s16 pair sums of a weight part against 4 broadcast activations. Signed (Q8_0):
// |w - 128| as u8 (|-128| wraps to 0x80 = 128) against the activation with w - 128's sign.
template <class A, class F>
inline I16<A> chunk_pairs(U8<A> weights, I8<A> activations) {
  if constexpr (F::kSigned) {
    const auto centred = xsimd::bitwise_cast<I8<A>>(weights ^ U8<A>(0x80));
    return dot_byte_pairs<A>(xsimd::bitwise_cast<U8<A>>(xsimd::abs(centred)),
                             sign_of<A>(activations, centred));
  } else {
    return dot_byte_pairs<A>(weights, activations);
  }
}

// With a byte dot product (kHasByteDot, ARM's sdot): sum + the chunk's 4-byte dot products of a
// weight part against 4 broadcast activations, straight to s32. Every unsigned weight (at most 63)
// is also a valid s8; Q8_0's stored w - 128 is its signed value.
template <class A, class F>
inline I32<A> chunk_dot(I32<A> sum, U8<A> weights, I8<A> activations) {
  if constexpr (F::kSigned) {
    return dot_bytes<A>(sum, xsimd::bitwise_cast<I8<A>>(weights ^ U8<A>(0x80)), activations);
  } else {
    return dot_bytes<A>(sum, xsimd::bitwise_cast<I8<A>>(weights), activations);
  }
}

// ---- one token

// One token against kStreams groups, block by block (each group its own weight stream; the
// groups' independent sums also hide latency chains). acc += sum * (scale * d) (+ min * d * sum
// of q), as the AVX-512 kernel does.
template <class A, class F, std::size_t kStreams>
void int_matvec_groups(const PackedMatrix& w, const QuantizedActivations& x,
                       const std::size_t (&groups)[kStreams], float* y) {
  const std::size_t nb = w.cols() / F::kB;
  const std::uint16_t* scales[kStreams];  // [nb, 16] f16 each
  const std::uint16_t* mins[kStreams];    // [nb, 16] f16 each (if kMins)
  const std::uint8_t* data[kStreams];     // [nb, kBlockBytes] each
  F32<A> acc[kStreams][kParts<A>];        // 16 rows each
  for (std::size_t s = 0; s < kStreams; ++s) {
    scales[s] = w.group_scales(groups[s]);
    mins[s] = w.group_mins(groups[s]);
    data[s] = w.group_data(groups[s]);
    for (auto& a : acc[s]) a = F32<A>(0.0f);
  }
  for (std::size_t b = 0; b < nb; ++b) {
    const std::int8_t* q = x.qs.data() + b * F::kB;
    const F32<A> d(x.block_scales[b]);
    const I32<A> init(F::kSigned ? 0 : x.block_init[b]);
    for (std::size_t s = 0; s < kStreams; ++s) {
      const std::uint8_t* block = data[s] + b * F::kBlockBytes;
      if constexpr (F::kNibbles) {
        prefetch_nibble_block_ahead<F::kBlockBytes>(block, scales[s], b);  // prefetch_ahead.hpp
      }
      for (std::size_t p = 0; p < kParts<A>; ++p) {
        I32<A> sum = init;
        I16<A> pairs(0);
        unroll<F::kChunks>([&](auto chunk) {
          constexpr std::size_t c = decltype(chunk)::value;
          if constexpr (kHasByteDot<A>) {
            sum = chunk_dot<A, F>(sum, weight_part<A, F>(block, c, p),
                                  broadcast_4_bytes<A>(q + 4 * c));
            return;
          }
          pairs +=
              chunk_pairs<A, F>(weight_part<A, F>(block, c, p), broadcast_4_bytes<A>(q + 4 * c));
          if constexpr ((c + 1) % F::kWiden == 0) {
            sum += sum_word_pairs<A>(pairs);
            keep_order(sum);
            pairs = I16<A>(0);
          }
        });
        const std::size_t row = b * kPackedGroupRows + p * kPartRows<A>;
        const F32<A> scale = load_f16<A>(scales[s] + row);
        acc[s][p] = xsimd::fma(xsimd::batch_cast<float>(sum), scale * d, acc[s][p]);
        if constexpr (F::kMins) {
          acc[s][p] = xsimd::fma(load_f16<A>(mins[s] + row), F32<A>(x.block_sums[b]), acc[s][p]);
        }
      }
    }
  }
  for (std::size_t s = 0; s < kStreams; ++s) {
    const std::size_t first_row = groups[s] * kPackedGroupRows;
    const std::size_t valid = std::min(kPackedGroupRows, w.rows() - first_row);
    alignas(64) float out[kPackedGroupRows];
    for (std::size_t p = 0; p < kParts<A>; ++p) acc[s][p].store_aligned(out + p * kPartRows<A>);
    std::memcpy(y + first_row, out, valid * sizeof(float));
  }
}

// ---- several tokens

// Tokens a tile holds: its s16 pair sums (and, when a block widens more than once, s32 sums) take
// kPassParts registers each; the rest of the 16 hold a pass's weight parts (twice for Q8_0:
// magnitudes and signed bytes), a broadcast activation, a product and constants (the nibble mask;
// for Q8_0 the sign flip and pmaddwd's ones). Q4_0/Q4_1 get 5 tokens, Q8_0 4, Q5_0/Q5_1 2; 4-6
// measured alike, but the larger sizes spilled.
template <class A, class F>
inline constexpr std::size_t kTileTokens = [] {
  const bool both = F::kWiden > 1 && F::kWiden < F::kChunks;  // s16 and s32 sums live at once
  const std::size_t per_token = kPassParts<A> * (both ? 2 : 1);
  const std::size_t fixed = F::kSigned ? 2 * kPassParts<A> + 4 : kPassParts<A> + 3;
  return std::clamp<std::size_t>((16 - fixed) / per_token, 1, 8);
}();

// Tokens whose activations stay in L2 while every weight group of a thread streams past them.
inline constexpr std::size_t kTokenChunk = 64;

// kTokens tokens from t0 against one group's rows of pass `pass`.
template <class A, class F, std::size_t kTokens>
void int_tile_pass(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group,
                   std::size_t pass, std::size_t t0, float* y) {
  constexpr std::size_t kPP = kPassParts<A>;
  const std::size_t cols = w.cols();
  const std::size_t nb = cols / F::kB;
  const std::size_t pass_row = pass * kPP * kPartRows<A>;          // first row of the pass
  const std::uint16_t* scales = w.group_scales(group) + pass_row;  // [nb, 16] f16
  const std::uint16_t* mins = w.group_mins(group) + pass_row;      // [nb, 16] f16 (if kMins)
  const std::uint8_t* data = w.group_data(group);                  // [nb, kBlockBytes]
  const std::int8_t* q = x.qs.data() + t0 * cols;                  // [kTokens, cols]

  F32<A> acc[kTokens][kPP];
  for (auto& token : acc)
    for (auto& a : token) a = F32<A>(0.0f);

  for (std::size_t b = 0; b < nb; ++b) {
    const std::uint8_t* block = data + b * F::kBlockBytes;
    I32<A> sum[kTokens][kPP];
    I16<A> pairs[kTokens][kPP];
    for (std::size_t t = 0; t < kTokens; ++t) {
      const I32<A> init(F::kSigned ? 0 : x.block_init[(t0 + t) * nb + b]);
      for (std::size_t p = 0; p < kPP; ++p) {
        sum[t][p] = init;
        pairs[t][p] = I16<A>(0);
      }
    }
    // Unrolled at compile time: with a run-time chunk index GCC kept the loop, spilled s16 sums
    // and carried them through the stack (store-forwarding latency on every chunk).
    unroll<F::kChunks>([&](auto chunk) {
      constexpr std::size_t c = decltype(chunk)::value;
      U8<A> weights[kPP];
      for (std::size_t p = 0; p < kPP; ++p)
        weights[p] = weight_part<A, F>(block, c, pass * kPP + p);
      for (std::size_t t = 0; t < kTokens; ++t) {
        const I8<A> a = broadcast_4_bytes<A>(q + t * cols + b * F::kB + 4 * c);
        for (std::size_t p = 0; p < kPP; ++p) {
          if constexpr (kHasByteDot<A>) {
            sum[t][p] = chunk_dot<A, F>(sum[t][p], weights[p], a);
          } else {
            pairs[t][p] = add_words<A>(pairs[t][p], chunk_pairs<A, F>(weights[p], a));
          }
        }
      }
      if constexpr (!kHasByteDot<A> && (c + 1) % F::kWiden == 0) {
        for (std::size_t t = 0; t < kTokens; ++t) {
          for (std::size_t p = 0; p < kPP; ++p) {
            sum[t][p] += sum_word_pairs<A>(pairs[t][p]);
            keep_order(sum[t][p]);
            pairs[t][p] = I16<A>(0);
          }
        }
      }
    });
    F32<A> scale[kPP];
    F32<A> min[kPP];
    for (std::size_t p = 0; p < kPP; ++p) {
      scale[p] = load_f16<A>(scales + b * kPackedGroupRows + p * kPartRows<A>);
      if constexpr (F::kMins) min[p] = load_f16<A>(mins + b * kPackedGroupRows + p * kPartRows<A>);
    }
    for (std::size_t t = 0; t < kTokens; ++t) {
      const F32<A> d(x.block_scales[(t0 + t) * nb + b]);
      for (std::size_t p = 0; p < kPP; ++p) {
        acc[t][p] = xsimd::fma(xsimd::batch_cast<float>(sum[t][p]), scale[p] * d, acc[t][p]);
        if constexpr (F::kMins) {
          acc[t][p] = xsimd::fma(min[p], F32<A>(x.block_sums[(t0 + t) * nb + b]), acc[t][p]);
        }
      }
    }
  }

  const std::size_t first_row = group * kPackedGroupRows + pass_row;
  const std::size_t valid = std::min(kPP * kPartRows<A>, w.rows() - first_row);
  for (std::size_t t = 0; t < kTokens; ++t) {
    alignas(64) float out[kPP * kPartRows<A>];
    for (std::size_t p = 0; p < kPP; ++p) acc[t][p].store_aligned(out + p * kPartRows<A>);
    std::memcpy(y + (t0 + t) * w.rows() + first_row, out, valid * sizeof(float));
  }
}

template <class A, class F>
void int_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                std::size_t group_end, float* y) {
  if (x.n_tokens == 1) {
    for_groups_side_by_side<4>(group_begin, group_end, [&](const auto& groups) {
      int_matvec_groups<A, F, streams_of<decltype(groups)>>(w, x, groups, y);
    });
    return;
  }
  constexpr std::size_t kPasses = kParts<A> / kPassParts<A>;
  for (std::size_t t0 = 0; t0 < x.n_tokens; t0 += kTokenChunk) {
    const std::size_t n = std::min(kTokenChunk, x.n_tokens - t0);
    for (std::size_t g = group_begin; g < group_end; ++g) {
      for (std::size_t pass = 0; pass < kPasses; ++pass) {
        // A pass over padding rows only (SSE4's second 8 rows of a short last group) has no output.
        if (g * kPackedGroupRows + pass * kPassParts<A> * kPartRows<A> >= w.rows()) break;
        for_token_tiles<kTileTokens<A, F>>(t0, n, [&](auto tokens, std::size_t first) {
          int_tile_pass<A, F, decltype(tokens)::value>(w, x, g, pass, first, y);
        });
      }
    }
  }
}

// The contract of int_block_matmul (kernel_table.hpp) for arch A.
template <class A>
void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                      std::size_t group_end, float* y) {
  const IntBlockFormat& f = w.format();
  const auto run = [&](auto format) {
    int_matmul<A, decltype(format)>(w, x, group_begin, group_end, y);
  };
  if (f.block_values == 16) {
    return f.zero_point == 128 ? run(IntFormat<16, false, false, true>{})
                               : run(IntFormat<16, false, false, false>{});
  }
  if (f.nibbles) {
    return f.has_mins ? run(IntFormat<32, true, true, false>{})
                      : run(IntFormat<32, true, false, false>{});
  }
  if (f.has_mins) return run(IntFormat<32, false, true, false>{});
  if (f.zero_point == 128) return run(IntFormat<32, false, false, true>{});
  return run(IntFormat<32, false, false, false>{});
}

}  // namespace llama3::kernels::simd
