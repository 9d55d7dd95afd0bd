// AVX-512 VNNI kernels over the K-quants' super-block layout (k_quant_layout.hpp).
// Per 32-value activation block of a super-block, the 8 VNNI chunks of weights are unpacked from
// the bit planes with and/shift/ternlog (the 32-block index is a template parameter, so every
// shift is an immediate), then per token and sub-block: int32 sum of vpdpbusd, one convert, one
// FMA with (d * sub-scale) * activation scale, and for Q4_K/Q5_K one FMA with -dmin * min times
// the activation block sum. d * sub-scale is exact in f32 (11 + 8 bits), so the only roundings
// are the f32 products and sums.
// GCC 12 warns falsely about its own intrinsic headers' _mm512_undefined_* placeholders.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/prefetch_ahead.hpp"
#include "kernels/arch/side_by_side_groups.hpp"
#include "kernels/k_quant_layout.hpp"

namespace llama3::kernels::avx512 {
namespace {

constexpr std::size_t kTokenTile = 8;
// Tokens whose activations stay in L2 while every weight group of a thread streams past them.
constexpr std::size_t kTokenChunk = 64;
constexpr std::size_t kBlocksPerSuper = kKSuperValues / 32;  // 32-value activation blocks

inline __m512i broadcast_4_bytes(const std::int8_t* at) {
  std::int32_t value;
  std::memcpy(&value, at, 4);
  return _mm512_set1_epi32(value);
}

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

// One token's contribution of one 32-block of a group: q, the block's 32 activations; b, the
// index of its first sub-block in the token's activation blocks.
template <typename F>
inline __m512 accumulate(const __m512i (&w)[8], const __m512 (&scale)[F::kSubsPerBlock],
                         const __m512 (&mins)[F::kSubsPerBlock], const QuantizedActivations& x,
                         const std::int8_t* q, std::size_t b, __m512 acc) {
  constexpr std::size_t kChunks = 8 / F::kSubsPerBlock;
  for (std::size_t u = 0; u < F::kSubsPerBlock; ++u) {
    __m512i sum = F::kZeroPoint ? _mm512_set1_epi32(x.block_init[b + u]) : _mm512_setzero_si512();
    for (std::size_t k = 0; k < kChunks; ++k) {
      const std::size_t chunk = u * kChunks + k;
      sum = _mm512_dpbusd_epi32(sum, w[chunk], broadcast_4_bytes(q + 4 * chunk));
    }
    const __m512 scaled = _mm512_mul_ps(scale[u], _mm512_set1_ps(x.block_scales[b + u]));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scaled, acc);
    if constexpr (F::kMins)
      acc = _mm512_fmadd_ps(mins[u], _mm512_set1_ps(x.block_sums[b + u]), acc);
  }
  return acc;
}

// Calls body.operator()<A>() for A = 0..7.
template <typename Body>
inline void for_each_block(const Body& body) {
  [&]<std::size_t... A>(std::index_sequence<A...>) {
    (body.template operator()<A>(), ...);
  }
  (std::make_index_sequence<kBlocksPerSuper>{});
}

inline void store_group(const PackedMatrix& w, std::size_t group, __m512 acc, float* y_row) {
  const std::size_t first_row = group * kPackedGroupRows;
  const std::size_t valid = std::min(kPackedGroupRows, w.rows() - first_row);
  _mm512_mask_storeu_ps(y_row + first_row, static_cast<__mmask16>((1u << valid) - 1u), acc);
}

// kTokens tokens from t0 against one group: each unpacked 32-block is reused by every token.
template <typename F, std::size_t kTokens>
void k_tile(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group, std::size_t t0,
            float* y) {
  const std::size_t cols = w.cols();
  const std::size_t nb = cols / w.format().block_values;  // activation blocks per token
  const std::uint8_t* scales = w.group_super_scales(group);
  const std::uint8_t* data = w.group_data(group);
  __m512 acc[kTokens];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (std::size_t s = 0; s < w.super_blocks_per_row(); ++s) {
    const std::uint8_t* sb_scales = scales + s * F::kScaleBytes;
    const std::uint8_t* sb_data = data + s * F::kDataBytes;
    for_each_block([&]<std::size_t A>() {
      __m512i weights[8];
      __m512 scale[F::kSubsPerBlock], mins[F::kSubsPerBlock];
      F::template unpack<A>(sb_data, weights);
      F::template scales<A>(sb_scales, scale, mins);
      const std::size_t value = s * kKSuperValues + 32 * A;
      const std::size_t b = (s * kBlocksPerSuper + A) * F::kSubsPerBlock;
      for (std::size_t t = 0; t < kTokens; ++t) {
        const std::size_t token = t0 + t;
        acc[t] = accumulate<F>(weights, scale, mins, x, x.qs.data() + token * cols + value,
                               token * nb + b, acc[t]);
      }
    });
  }
  for (std::size_t t = 0; t < kTokens; ++t) store_group(w, group, acc[t], y + (t0 + t) * w.rows());
}

template <typename F>
void k_tiles(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group,
             std::size_t t0, std::size_t n, float* y) {
  for_token_tiles<kTokenTile>(t0, n, [&](auto tokens, std::size_t first) {
    k_tile<F, decltype(tokens)::value>(w, x, group, first, y);
  });
}

// One token against kStreams groups read side by side (independent memory streams and vpdpbusd
// chains; see int_matvec_groups in x86/avx512/int_block_kernels.cpp). Per group, k_tile<1>'s
// arithmetic in its order.
template <typename F, std::size_t kStreams>
void k_matvec_groups(const PackedMatrix& w, const QuantizedActivations& x,
                     const std::size_t (&groups)[kStreams], float* y) {
  const std::uint8_t* scales[kStreams];
  const std::uint8_t* data[kStreams];
  __m512 acc[kStreams];
  for (std::size_t i = 0; i < kStreams; ++i) {
    scales[i] = w.group_super_scales(groups[i]);
    data[i] = w.group_data(groups[i]);
    acc[i] = _mm512_setzero_ps();
  }
  for (std::size_t s = 0; s < w.super_blocks_per_row(); ++s) {
    for_each_block([&]<std::size_t A>() {
      const std::size_t b = (s * kBlocksPerSuper + A) * F::kSubsPerBlock;
      const std::int8_t* q = x.qs.data() + s * kKSuperValues + 32 * A;
      for (std::size_t i = 0; i < kStreams; ++i) {
        prefetch_k_quant_ahead<F, A>(scales[i] + s * F::kScaleBytes, data[i] + s * F::kDataBytes);
        __m512i weights[8];
        __m512 scale[F::kSubsPerBlock], mins[F::kSubsPerBlock];
        F::template unpack<A>(data[i] + s * F::kDataBytes, weights);
        F::template scales<A>(scales[i] + s * F::kScaleBytes, scale, mins);
        acc[i] = accumulate<F>(weights, scale, mins, x, q, b, acc[i]);
      }
    });
  }
  for (std::size_t i = 0; i < kStreams; ++i) store_group(w, groups[i], acc[i], y);
}

template <typename F>
void k_matvec(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
              std::size_t group_end, float* y) {
  for_groups_side_by_side<4>(group_begin, group_end, [&](const auto& groups) {
    k_matvec_groups<F, streams_of<decltype(groups)>>(w, x, groups, y);
  });
}

template <typename F>
void k_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
              std::size_t group_end, float* y) {
  if (x.n_tokens == 1) return k_matvec<F>(w, x, group_begin, group_end, y);
  for (std::size_t t0 = 0; t0 < x.n_tokens; t0 += kTokenChunk) {
    const std::size_t n = std::min(kTokenChunk, x.n_tokens - t0);
    for (std::size_t g = group_begin; g < group_end; ++g) k_tiles<F>(w, x, g, t0, n, y);
  }
}

}  // namespace

void k_quant_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                    std::size_t group_end, float* y) {
  switch (w.type()) {
    case io::TensorType::kQ4_K:
      return k_matmul<Q4K>(w, x, group_begin, group_end, y);
    case io::TensorType::kQ5_K:
      return k_matmul<Q5K>(w, x, group_begin, group_end, y);
    default:
      return k_matmul<Q6K>(w, x, group_begin, group_end, y);
  }
}

}  // namespace llama3::kernels::avx512
