// The word walk every level's mask_row kernel shares (MaskRowKernel, kernel_table.hpp). The
// allowed-bitset is read 64 tokens at a time: a word that allows all 64 leaves their logits alone,
// a word that allows none gets 64 logits of -infinity in whole-vector stores, and a word that mixes
// the two a vector select driven by its bits. A grammar's mask is mostly runs of forbidden words
// with a few mixed ones, so the row is written at the width of the stores rather than one logit at
// a time. `Lanes` gives the two vector steps of one level (compiled with that level's flags):
//   Lanes::forbid_all(float* p)                       p[0, 64) = -infinity
//   Lanes::forbid_clear(float* p, std::uint64_t bits) p[i] = -infinity where bit i is clear
// The last, partial word goes one logit at a time.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace llama3::kernels::mask_row_words {

template <class Lanes>
inline void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words) {
  const std::size_t full_words = n / 64;
  const std::size_t bitset_words = std::min(full_words, n_words);
  for (std::size_t w = 0; w < bitset_words; ++w) {
    const std::uint64_t bits = allowed[w];
    if (bits == ~std::uint64_t{0}) continue;
    if (bits == 0) {
      Lanes::forbid_all(row + w * 64);
    } else {
      Lanes::forbid_clear(row + w * 64, bits);
    }
  }
  // Past the bitset nothing is allowed.
  for (std::size_t w = bitset_words; w < full_words; ++w) Lanes::forbid_all(row + w * 64);
  const std::size_t tail = n - full_words * 64;
  if (tail == 0) return;
  const std::uint64_t bits = full_words < n_words ? allowed[full_words] : 0;
  float* last = row + full_words * 64;
  for (std::size_t i = 0; i < tail; ++i) {
    if (((bits >> i) & 1U) == 0) last[i] = -INFINITY;
  }
}

}  // namespace llama3::kernels::mask_row_words
