// AVX-512 kernels (F, BW, VL, VNNI; F16C-equivalent conversions from AVX-512F).
// Integer blocks: 16 rows per register lane set, so each vpdpbusd does 64 multiply-adds of 16 rows
// against 4 activation bytes broadcast from memory; per block the int32 sums are scaled once.
// Tiles of up to kTokenTile tokens reuse each unpacked weight block from registers.
// GCC 12 warns falsely about its own intrinsic headers' _mm512_undefined_* placeholders.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/prefetch_ahead.hpp"
#include "kernels/arch/side_by_side_groups.hpp"

namespace llama3::kernels::avx512 {
namespace {

constexpr std::size_t kTokenTile = 8;
// Tokens whose activations stay in L2 while every weight group of a thread streams past them.
constexpr std::size_t kTokenChunk = 64;

inline __m512i broadcast_4_bytes(const std::int8_t* at) {
  std::int32_t value;
  std::memcpy(&value, at, 4);
  return _mm512_set1_epi32(value);
}

template <std::size_t kTokens, std::size_t kB, bool kNibbles, bool kMins>
void int_tile(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group,
              std::size_t t0, float* y) {
  constexpr std::size_t kChunks = kB / 4;  // 64-byte VNNI chunks per block
  constexpr std::size_t kBlockBytes = kPackedGroupRows * kB / (kNibbles ? 2 : 1);
  const std::size_t cols = w.cols();
  const std::size_t nb = cols / kB;
  const std::uint16_t* scales = w.group_scales(group);  // [nb, 16] f16
  const std::uint16_t* mins = w.group_mins(group);      // [nb, 16] f16 (if kMins)
  const std::uint8_t* data = w.group_data(group);       // [nb, kBlockBytes]
  const __m512i low_nibbles = _mm512_set1_epi8(0x0F);

  __m512 acc[kTokens];  // [kTokens] x 16 rows
  for (auto& a : acc) a = _mm512_setzero_ps();

  for (std::size_t b = 0; b < nb; ++b) {
    const __m512 scale = _mm512_cvtph_ps(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + b * kPackedGroupRows)));
    __m512 min = _mm512_setzero_ps();
    if constexpr (kMins) {
      min = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mins + b * kPackedGroupRows)));
    }
    const std::uint8_t* block = data + b * kBlockBytes;
    __m512i weights[kChunks];
    if constexpr (kNibbles) {
      for (std::size_t c = 0; c < kChunks / 2; ++c) {
        const __m512i raw = _mm512_load_si512(block + 64 * c);
        weights[c] = _mm512_and_si512(raw, low_nibbles);
        weights[c + kChunks / 2] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low_nibbles);
      }
    } else {
      for (std::size_t c = 0; c < kChunks; ++c) weights[c] = _mm512_load_si512(block + 64 * c);
    }
    for (std::size_t t = 0; t < kTokens; ++t) {
      const std::size_t token = t0 + t;
      const std::int8_t* q = x.qs.data() + token * cols + b * kB;
      __m512i sum = _mm512_set1_epi32(x.block_init[token * nb + b]);
      for (std::size_t c = 0; c < kChunks; ++c) {
        sum = _mm512_dpbusd_epi32(sum, weights[c], broadcast_4_bytes(q + 4 * c));
      }
      const __m512 scaled = _mm512_mul_ps(scale, _mm512_set1_ps(x.block_scales[token * nb + b]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scaled, acc[t]);
      if constexpr (kMins) {
        acc[t] = _mm512_fmadd_ps(min, _mm512_set1_ps(x.block_sums[token * nb + b]), acc[t]);
      }
    }
  }

  const std::size_t first_row = group * kPackedGroupRows;
  const std::size_t valid = std::min(kPackedGroupRows, w.rows() - first_row);
  const auto mask = static_cast<__mmask16>((1u << valid) - 1u);
  for (std::size_t t = 0; t < kTokens; ++t) {
    _mm512_mask_storeu_ps(y + (t0 + t) * w.rows() + first_row, mask, acc[t]);
  }
}

template <std::size_t kB, bool kNibbles, bool kMins>
void int_tiles(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group,
               std::size_t t0, std::size_t n, float* y) {
  for_token_tiles<kTokenTile>(t0, n, [&](auto tokens, std::size_t first) {
    int_tile<decltype(tokens)::value, kB, kNibbles, kMins>(w, x, group, first, y);
  });
}

// One token against kStreams weight groups at once, block by block. Each group is two memory
// streams (scales, data) far apart, so one thread keeps 2 * kStreams streams in flight (a single
// stream per thread reads ~30 GB/s here, 4-8 reach 42); the groups' sums are independent, which
// also hides the vpdpbusd latency chain. (Software prefetch measured no faster; 8 streams slower.)
// Per group the arithmetic is int_tile<1>'s, in its order.
template <std::size_t kStreams, std::size_t kB, bool kNibbles, bool kMins>
void int_matvec_groups(const PackedMatrix& w, const QuantizedActivations& x,
                       const std::size_t (&groups)[kStreams], float* y) {
  constexpr std::size_t kChunks = kB / 4;
  constexpr std::size_t kBlockBytes = kPackedGroupRows * kB / (kNibbles ? 2 : 1);
  const std::size_t cols = w.cols();
  const std::size_t nb = cols / kB;
  const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
  const std::uint16_t* scales[kStreams];
  const std::uint16_t* mins[kStreams];
  const std::uint8_t* data[kStreams];
  __m512 acc[kStreams];
  for (std::size_t s = 0; s < kStreams; ++s) {
    scales[s] = w.group_scales(groups[s]);
    mins[s] = w.group_mins(groups[s]);
    data[s] = w.group_data(groups[s]);
    acc[s] = _mm512_setzero_ps();
  }
  const std::int8_t* q = x.qs.data();
  for (std::size_t b = 0; b < nb; ++b) {
    const __m512 d = _mm512_set1_ps(x.block_scales[b]);
    const std::int32_t init = x.block_init[b];
    for (std::size_t s = 0; s < kStreams; ++s) {
      const std::uint8_t* block = data[s] + b * kBlockBytes;
      if constexpr (kNibbles) {
        prefetch_nibble_block_ahead<kBlockBytes>(block, scales[s], b);  // prefetch_ahead.hpp
      }
      const __m512 scale = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales[s] + b * kPackedGroupRows)));
      __m512i sum = _mm512_set1_epi32(init);
      if constexpr (kNibbles) {
        for (std::size_t c = 0; c < kChunks / 2; ++c) {
          const __m512i raw = _mm512_load_si512(block + 64 * c);
          sum = _mm512_dpbusd_epi32(sum, _mm512_and_si512(raw, low_nibbles),
                                    broadcast_4_bytes(q + b * kB + 4 * c));
        }
        for (std::size_t c = 0; c < kChunks / 2; ++c) {
          const __m512i raw = _mm512_load_si512(block + 64 * c);
          sum = _mm512_dpbusd_epi32(sum, _mm512_and_si512(_mm512_srli_epi16(raw, 4), low_nibbles),
                                    broadcast_4_bytes(q + b * kB + 4 * (c + kChunks / 2)));
        }
      } else {
        for (std::size_t c = 0; c < kChunks; ++c) {
          sum = _mm512_dpbusd_epi32(sum, _mm512_load_si512(block + 64 * c),
                                    broadcast_4_bytes(q + b * kB + 4 * c));
        }
      }
      acc[s] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(scale, d), acc[s]);
      if constexpr (kMins) {
        const __m512 min = _mm512_cvtph_ps(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mins[s] + b * kPackedGroupRows)));
        acc[s] = _mm512_fmadd_ps(min, _mm512_set1_ps(x.block_sums[b]), acc[s]);
      }
    }
  }
  for (std::size_t s = 0; s < kStreams; ++s) {
    const std::size_t first_row = groups[s] * kPackedGroupRows;
    const std::size_t valid = std::min(kPackedGroupRows, w.rows() - first_row);
    const auto mask = static_cast<__mmask16>((1u << valid) - 1u);
    _mm512_mask_storeu_ps(y + first_row, mask, acc[s]);
  }
}

// One token, groups [group_begin, group_end): the range is cut into kStreams equal parts read
// side by side.
template <std::size_t kB, bool kNibbles, bool kMins>
void int_matvec(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                std::size_t group_end, float* y) {
  for_groups_side_by_side<4>(group_begin, group_end, [&](const auto& groups) {
    int_matvec_groups<streams_of<decltype(groups)>, kB, kNibbles, kMins>(w, x, groups, y);
  });
}

template <std::size_t kB, bool kNibbles, bool kMins>
void int_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                std::size_t group_end, float* y) {
  if (x.n_tokens == 1) return int_matvec<kB, kNibbles, kMins>(w, x, group_begin, group_end, y);
  for (std::size_t t0 = 0; t0 < x.n_tokens; t0 += kTokenChunk) {
    const std::size_t n = std::min(kTokenChunk, x.n_tokens - t0);
    for (std::size_t g = group_begin; g < group_end; ++g) {
      int_tiles<kB, kNibbles, kMins>(w, x, g, t0, n, y);
    }
  }
}

}  // namespace

void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                      std::size_t group_end, float* y) {
  const IntBlockFormat& f = w.format();
  if (f.block_values == 16) return int_matmul<16, false, false>(w, x, group_begin, group_end, y);
  if (f.nibbles) {
    if (f.has_mins) return int_matmul<32, true, true>(w, x, group_begin, group_end, y);
    return int_matmul<32, true, false>(w, x, group_begin, group_end, y);
  }
  if (f.has_mins) return int_matmul<32, false, true>(w, x, group_begin, group_end, y);
  return int_matmul<32, false, false>(w, x, group_begin, group_end, y);
}

}  // namespace llama3::kernels::avx512
