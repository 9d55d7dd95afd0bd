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
#include "kernels/arch/x86/avx512/k_quant_unpack.hpp"
#include "kernels/k_quant_layout.hpp"

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
