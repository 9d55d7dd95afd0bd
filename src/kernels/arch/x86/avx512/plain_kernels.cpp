// AVX-512 kernels for plain (F32/F16/BF16) weights in column-interleaved 16-row groups
// (PackedMatrix::plain_group: [cols][16 rows]). One vector load is one column of a group's 16
// rows, widened to f32 (F16: vcvtph2ps; BF16: zero-extend and shift), so every kernel is an outer
// product y[16 rows] += column * broadcast(x[col]) with no horizontal sums, and every group is one
// contiguous stream of weights.
// GCC 12 warns falsely about its own intrinsic headers' _mm512_undefined_* placeholders.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <algorithm>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/grow_only_scratch.hpp"
#include "kernels/arch/side_by_side_groups.hpp"

namespace llama3::kernels::avx512 {
namespace {

// Column c of a group (16 rows) as f32.
struct F32Column {
  static __m512 load(const void* group, std::size_t c) {
    return _mm512_load_ps(static_cast<const float*>(group) + kPackedGroupRows * c);
  }
};
struct F16Column {
  static __m512 load(const void* group, std::size_t c) {
    return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(
        static_cast<const std::uint16_t*>(group) + kPackedGroupRows * c)));
  }
};
struct BF16Column {
  static __m512 load(const void* group, std::size_t c) {
    const __m256i bits = _mm256_load_si256(reinterpret_cast<const __m256i*>(
        static_cast<const std::uint16_t*>(group) + kPackedGroupRows * c));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
  }
};

// Writes (or, with `accumulate`, adds) a group's 16 sums to one token's outputs.
void store_group(const PackedMatrix& w, std::size_t group, __m512 sums, float* y_token,
                 bool accumulate = false) {
  const std::size_t first_row = group * kPackedGroupRows;
  const std::size_t valid = std::min(kPackedGroupRows, w.rows() - first_row);
  const auto mask = static_cast<__mmask16>((1u << valid) - 1u);
  if (accumulate) sums = _mm512_add_ps(sums, _mm512_maskz_loadu_ps(mask, y_token + first_row));
  _mm512_mask_storeu_ps(y_token + first_row, mask, sums);
}

// Columns per pass over the groups: the block's activations of one pass (48 x 1024 f32, 192 KB)
// stay in L2 even when a row is long (ffn_down: 8192 cols, 1.5 MB per block).
constexpr std::size_t kColumnSlice = 1024;

// ---- one token

// One token against kStreams groups read side by side (one memory stream each), every column.
// Each group sums its columns in one FMA chain per column slice, restarted at every slice and
// added to the slices before, exactly as plain_tile sums one token of a batch: a token's outputs
// are the same bits whether it is multiplied alone or in a batch, which speculative verification
// and micro-batched prompts rely on to give what one-token decoding gives.
template <typename Column, std::size_t kStreams>
void plain_matvec_groups(const PackedMatrix& w, const float* x,
                         const std::size_t (&groups)[kStreams], float* y) {
  const std::size_t cols = w.cols();
  const void* data[kStreams];
  __m512 total[kStreams];
  for (std::size_t s = 0; s < kStreams; ++s) {
    data[s] = w.plain_group(groups[s]);
    total[s] = _mm512_setzero_ps();  // (the first slice replaces it)
  }
  for (std::size_t c0 = 0; c0 < cols; c0 += kColumnSlice) {
    const std::size_t c1 = std::min(cols, c0 + kColumnSlice);
    __m512 acc[kStreams];
    for (auto& a : acc) a = _mm512_setzero_ps();
    for (std::size_t c = c0; c < c1; ++c) {
      const __m512 xc = _mm512_set1_ps(x[c]);
      for (std::size_t s = 0; s < kStreams; ++s) {
        acc[s] = _mm512_fmadd_ps(Column::load(data[s], c), xc, acc[s]);
      }
    }
    for (std::size_t s = 0; s < kStreams; ++s) {
      total[s] = c0 == 0 ? acc[s] : _mm512_add_ps(acc[s], total[s]);
    }
  }
  for (std::size_t s = 0; s < kStreams; ++s) store_group(w, groups[s], total[s], y);
}

// One token, groups [group_begin, group_end): the range is cut into kStreams equal parts read
// side by side, so one thread keeps kStreams long sequential streams (and FMA chains) in flight.
template <typename Column>
void plain_matvec(const PackedMatrix& w, const float* x, std::size_t group_begin,
                  std::size_t group_end, float* y) {
  for_groups_side_by_side<4>(group_begin, group_end, [&](const auto& groups) {
    plain_matvec_groups<Column, streams_of<decltype(groups)>>(w, x, groups, y);
  });
}

// ---- several tokens

constexpr std::size_t kTileGroups = 2;   // 32 rows
constexpr std::size_t kTileTokens = 12;  // 2 x 12 accumulators + 2 columns + 1 broadcast
constexpr std::size_t kTokenBlock = 48;  // tokens whose activations stay in L2 across groups

// Columns [begin, end) of a pass; the first pass writes y, the others add to it.
struct ColumnSlice {
  std::size_t begin;
  std::size_t end;
};

struct Avx512Tag {};  // GrowOnlyScratch symbols of this file only

// kGroups groups (from `group`) x kTokens tokens (from t0 in the block) of accumulators.
// xt: the block's activations transposed, [cols][n_block], so a column's tokens are adjacent
// (token rows of x are a multiple of 4 KB apart: read side by side they share one L1 set).
template <typename Column, std::size_t kGroups, std::size_t kTokens>
void plain_tile(const PackedMatrix& w, const float* xt, std::size_t n_block, ColumnSlice slice,
                std::size_t group, std::size_t t0, float* y) {
  const void* data[kGroups];
  __m512 acc[kGroups][kTokens];
  for (std::size_t g = 0; g < kGroups; ++g) {
    data[g] = w.plain_group(group + g);
    for (auto& a : acc[g]) a = _mm512_setzero_ps();
  }
  const float* xc = xt + slice.begin * n_block + t0;
  for (std::size_t c = slice.begin; c < slice.end; ++c, xc += n_block) {
    __m512 column[kGroups];
    for (std::size_t g = 0; g < kGroups; ++g) column[g] = Column::load(data[g], c);
    for (std::size_t t = 0; t < kTokens; ++t) {
      const __m512 xv = _mm512_set1_ps(xc[t]);
      for (std::size_t g = 0; g < kGroups; ++g)
        acc[g][t] = _mm512_fmadd_ps(column[g], xv, acc[g][t]);
    }
  }
  for (std::size_t t = 0; t < kTokens; ++t) {
    for (std::size_t g = 0; g < kGroups; ++g) {
      store_group(w, group + g, acc[g][t], y + (t0 + t) * w.rows(), slice.begin > 0);
    }
  }
}

// The block's n_block tokens in tiles of kTileTokens, then one tile of the rest.
template <typename Column, std::size_t kGroups, std::size_t kTokens = kTileTokens>
void plain_tiles(const PackedMatrix& w, const float* xt, std::size_t n_block, ColumnSlice slice,
                 std::size_t group, std::size_t t0, float* y) {
  if constexpr (kTokens > 0) {
    for (; t0 + kTokens <= n_block; t0 += kTokens) {
      plain_tile<Column, kGroups, kTokens>(w, xt, n_block, slice, group, t0, y);
    }
    if (t0 < n_block) {
      plain_tiles<Column, kGroups, kTokens - 1>(w, xt, n_block, slice, group, t0, y);
    }
  }
}

template <typename Column>
void plain_matmul_of(const PackedMatrix& w, const float* x, std::size_t n_tokens,
                     std::size_t group_begin, std::size_t group_end, float* y) {
  if (n_tokens == 1) return plain_matvec<Column>(w, x, group_begin, group_end, y);
  const std::size_t cols = w.cols();
  thread_local GrowOnlyScratch<Avx512Tag> scratch;
  float* xt = scratch.get(cols * kTokenBlock);  // [cols][n]
  for (std::size_t t0 = 0; t0 < n_tokens; t0 += kTokenBlock) {
    const std::size_t n = std::min(kTokenBlock, n_tokens - t0);
    for (std::size_t t = 0; t < n; ++t) {
      const float* row = x + (t0 + t) * cols;
      for (std::size_t c = 0; c < cols; ++c) xt[c * n + t] = row[c];
    }
    float* yt = y + t0 * w.rows();
    for (std::size_t c0 = 0; c0 < cols; c0 += kColumnSlice) {
      const ColumnSlice slice{c0, std::min(cols, c0 + kColumnSlice)};
      std::size_t g = group_begin;
      for (; g + kTileGroups <= group_end; g += kTileGroups) {
        plain_tiles<Column, kTileGroups>(w, xt, n, slice, g, 0, yt);
      }
      for (; g < group_end; ++g) plain_tiles<Column, 1>(w, xt, n, slice, g, 0, yt);
    }
  }
}

}  // namespace

void plain_matmul(const PackedMatrix& w, const float* x, std::size_t n_tokens,
                  std::size_t group_begin, std::size_t group_end, float* y) {
  switch (w.type()) {
    case io::TensorType::kF16:
      return plain_matmul_of<F16Column>(w, x, n_tokens, group_begin, group_end, y);
    case io::TensorType::kBF16:
      return plain_matmul_of<BF16Column>(w, x, n_tokens, group_begin, group_end, y);
    default:
      return plain_matmul_of<F32Column>(w, x, n_tokens, group_begin, group_end, y);
  }
}

}  // namespace llama3::kernels::avx512
