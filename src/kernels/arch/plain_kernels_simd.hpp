// Plain (F32/F16/BF16) kernels over column-interleaved 16-row groups (PackedMatrix::plain_group:
// [cols][16 rows]) as xsimd code templated on the arch, for the AVX2 and SSE4 instantiations
// (x86/{avx2,sse4}/plain_kernels.cpp) and the ARM levels (arm/<level>/kernels.cpp). The walk
// mirrors the AVX-512 kernels (x86/avx512/plain_kernels.cpp): every kernel is an outer product
// y[rows] += column * broadcast(x[c]) with no horizontal sums; one token reads 4 groups side by
// side; a batch keeps a register tile of tokens against a column of a pass's rows (16 rows on AVX2,
// 8 on SSE4: a part is one vector).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "kernels/arch/grow_only_scratch.hpp"
#include "kernels/arch/side_by_side_groups.hpp"
#include "kernels/arch/simd_ops.hpp"
#include "kernels/packed_matrix.hpp"

namespace llama3::kernels::simd {

template <class A>
inline constexpr std::size_t kPlainPartRows = F32<A>::size;
template <class A>
inline constexpr std::size_t kPlainParts = kPackedGroupRows / kPlainPartRows<A>;

// Rows [p * lanes, (p + 1) * lanes) of column c of a group, as f32.
struct F32Column {
  template <class A>
  static F32<A> load(const void* group, std::size_t c, std::size_t p) {
    return F32<A>::load_aligned(static_cast<const float*>(group) + kPackedGroupRows * c +
                                kPlainPartRows<A> * p);
  }
};
struct F16Column {
  template <class A>
  static F32<A> load(const void* group, std::size_t c, std::size_t p) {
    return load_f16<A>(static_cast<const std::uint16_t*>(group) + kPackedGroupRows * c +
                       kPlainPartRows<A> * p);
  }
};
struct BF16Column {
  template <class A>
  static F32<A> load(const void* group, std::size_t c, std::size_t p) {
    return load_bf16<A>(static_cast<const std::uint16_t*>(group) + kPackedGroupRows * c +
                        kPlainPartRows<A> * p);
  }
};

// Writes (or, with `accumulate`, adds) `n` sums of one token's rows from `first_row`.
template <class A, std::size_t kN>
void store_rows(const F32<A> (&sums)[kN], std::size_t first_row, std::size_t rows, float* y_token,
                bool accumulate) {
  if (first_row >= rows) return;
  alignas(64) float out[kN * kPlainPartRows<A>];
  for (std::size_t p = 0; p < kN; ++p) sums[p].store_aligned(out + p * kPlainPartRows<A>);
  const std::size_t valid = std::min(kN * kPlainPartRows<A>, rows - first_row);
  if (accumulate) {
    for (std::size_t i = 0; i < valid; ++i) y_token[first_row + i] += out[i];
  } else {
    std::memcpy(y_token + first_row, out, valid * sizeof(float));
  }
}

// Columns per pass over the groups: the block's activations of one slice (48 x 1024 f32, 192 KB)
// stay in L2 even when a row is long.
inline constexpr std::size_t kPlainColumnSlice = 1024;

// ---- one token

// One token against kStreams groups read side by side (one memory stream each), every column;
// each group's parts are independent FMA chains. A chain is restarted at every column slice and
// added to the slices before, exactly as plain_tile sums one token of a batch, so a token's outputs
// are the same bits alone or in a batch (speculative verification relies on it).
template <class A, typename Column, std::size_t kStreams>
void plain_matvec_groups(const PackedMatrix& w, const float* x,
                         const std::size_t (&groups)[kStreams], float* y) {
  const std::size_t cols = w.cols();
  const void* data[kStreams];
  F32<A> total[kStreams][kPlainParts<A>];  // 16 rows each
  for (std::size_t s = 0; s < kStreams; ++s) {
    data[s] = w.plain_group(groups[s]);
    for (auto& t : total[s]) t = F32<A>(0.0f);  // (the first slice replaces it)
  }
  for (std::size_t c0 = 0; c0 < cols; c0 += kPlainColumnSlice) {
    const std::size_t c1 = std::min(cols, c0 + kPlainColumnSlice);
    F32<A> acc[kStreams][kPlainParts<A>];
    for (auto& stream : acc)
      for (auto& a : stream) a = F32<A>(0.0f);
    for (std::size_t c = c0; c < c1; ++c) {
      const F32<A> xc(x[c]);
      for (std::size_t s = 0; s < kStreams; ++s) {
        for (std::size_t p = 0; p < kPlainParts<A>; ++p) {
          acc[s][p] = xsimd::fma(Column::template load<A>(data[s], c, p), xc, acc[s][p]);
        }
      }
    }
    for (std::size_t s = 0; s < kStreams; ++s) {
      for (std::size_t p = 0; p < kPlainParts<A>; ++p) {
        total[s][p] = c0 == 0 ? acc[s][p] : acc[s][p] + total[s][p];
      }
    }
  }
  for (std::size_t s = 0; s < kStreams; ++s) {
    store_rows<A>(total[s], groups[s] * kPackedGroupRows, w.rows(), y, false);
  }
}

// ---- several tokens

// A pass: kPlainPassParts vectors of a group's rows against a tile of kPlainTileTokens tokens:
// 2 x 6 accumulators + 2 column parts + 1 broadcast of the 16 registers.
template <class A>
inline constexpr std::size_t kPlainPassParts = std::min<std::size_t>(kPlainParts<A>, 2);
inline constexpr std::size_t kPlainTileTokens = 6;
inline constexpr std::size_t kPlainTokenBlock = 48;  // tokens whose activations stay in L2

// kTokens tokens (from t0 in the block) against rows of pass `pass` of one group, columns
// [c_begin, c_end). xt: the block's activations transposed, [cols][n_block], so a column's tokens
// are adjacent (token rows of x are a multiple of 4 KB apart: read side by side they share one L1
// set).
template <class A, typename Column, std::size_t kTokens>
void plain_tile(const PackedMatrix& w, const float* xt, std::size_t n_block, std::size_t c_begin,
                std::size_t c_end, std::size_t group, std::size_t pass, std::size_t t0, float* y) {
  constexpr std::size_t kPP = kPlainPassParts<A>;
  const void* data = w.plain_group(group);
  F32<A> acc[kTokens][kPP];
  for (auto& token : acc)
    for (auto& a : token) a = F32<A>(0.0f);
  const float* xc = xt + c_begin * n_block + t0;
  for (std::size_t c = c_begin; c < c_end; ++c, xc += n_block) {
    F32<A> column[kPP];
    for (std::size_t p = 0; p < kPP; ++p)
      column[p] = Column::template load<A>(data, c, pass * kPP + p);
    for (std::size_t t = 0; t < kTokens; ++t) {
      const F32<A> xv(xc[t]);
      for (std::size_t p = 0; p < kPP; ++p) acc[t][p] = xsimd::fma(column[p], xv, acc[t][p]);
    }
  }
  const std::size_t first_row = group * kPackedGroupRows + pass * kPP * kPlainPartRows<A>;
  for (std::size_t t = 0; t < kTokens; ++t) {
    store_rows<A>(acc[t], first_row, w.rows(), y + (t0 + t) * w.rows(), c_begin > 0);
  }
}

template <class A, typename Column>
void plain_matmul_of(const PackedMatrix& w, const float* x, std::size_t n_tokens,
                     std::size_t group_begin, std::size_t group_end, float* y) {
  if (n_tokens == 1) {
    // Streams x parts accumulators: 4 x 2 on AVX2, 2 x 4 on SSE4.
    constexpr std::size_t kStreams = 8 / kPlainParts<A>;
    for_groups_side_by_side<kStreams>(group_begin, group_end, [&](const auto& groups) {
      plain_matvec_groups<A, Column, streams_of<decltype(groups)>>(w, x, groups, y);
    });
    return;
  }
  constexpr std::size_t kPasses = kPlainParts<A> / kPlainPassParts<A>;
  constexpr std::size_t kPassRows = kPlainPassParts<A> * kPlainPartRows<A>;
  const std::size_t cols = w.cols();
  thread_local GrowOnlyScratch<A> scratch;
  float* xt = scratch.get(cols * kPlainTokenBlock);  // [cols][n]
  for (std::size_t t0 = 0; t0 < n_tokens; t0 += kPlainTokenBlock) {
    const std::size_t n = std::min(kPlainTokenBlock, n_tokens - t0);
    for (std::size_t t = 0; t < n; ++t) {
      const float* row = x + (t0 + t) * cols;
      for (std::size_t c = 0; c < cols; ++c) xt[c * n + t] = row[c];
    }
    float* yt = y + t0 * w.rows();
    for (std::size_t c0 = 0; c0 < cols; c0 += kPlainColumnSlice) {
      const std::size_t c1 = std::min(cols, c0 + kPlainColumnSlice);
      for (std::size_t g = group_begin; g < group_end; ++g) {
        for (std::size_t pass = 0; pass < kPasses; ++pass) {
          // A pass over padding rows only (SSE4's second 8 rows of a short last group): no output.
          if (g * kPackedGroupRows + pass * kPassRows >= w.rows()) break;
          for_balanced_token_tiles<kPlainTileTokens>(0, n, [&](auto tokens, std::size_t first) {
            plain_tile<A, Column, decltype(tokens)::value>(w, xt, n, c0, c1, g, pass, first, yt);
          });
        }
      }
    }
  }
}

// The contract of plain_matmul (kernel_table.hpp) for arch A.
template <class A>
void plain_matmul(const PackedMatrix& w, const float* x, std::size_t n_tokens,
                  std::size_t group_begin, std::size_t group_end, float* y) {
  switch (w.type()) {
    case io::TensorType::kF16:
      return plain_matmul_of<A, F16Column>(w, x, n_tokens, group_begin, group_end, y);
    case io::TensorType::kBF16:
      return plain_matmul_of<A, BF16Column>(w, x, n_tokens, group_begin, group_end, y);
    default:
      return plain_matmul_of<A, F32Column>(w, x, n_tokens, group_begin, group_end, y);
  }
}

}  // namespace llama3::kernels::simd
