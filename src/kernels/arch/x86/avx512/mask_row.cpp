// The AVX-512 level's mask_row (MaskRowKernel, kernel_table.hpp): 16-float stores of -infinity,
// and for a mixed word a masked store of -infinity whose mask register is 16 of the word's clear
// bits: no load, no blend.
#include <immintrin.h>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/mask_row_words.hpp"

namespace llama3::kernels::avx512 {
namespace {

struct Lanes {
  static void forbid_all(float* p) {
    const __m512 forbidden = _mm512_set1_ps(-INFINITY);
    for (std::size_t k = 0; k < 64; k += 16) _mm512_storeu_ps(p + k, forbidden);
  }
  static void forbid_clear(float* p, std::uint64_t bits) {
    const __m512 forbidden = _mm512_set1_ps(-INFINITY);
    const std::uint64_t clear = ~bits;
    for (std::size_t k = 0; k < 64; k += 16) {
      _mm512_mask_storeu_ps(p + k, static_cast<__mmask16>(clear >> k), forbidden);
    }
  }
};

}  // namespace

void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words) {
  mask_row_words::mask_row<Lanes>(row, n, allowed, n_words);
}

}  // namespace llama3::kernels::avx512
