// The AVX2 level's mask_row (MaskRowKernel, kernel_table.hpp): 8-float stores of -infinity, and
// blendv per 8 logits of a mixed word, its lane mask made from one byte of the word.
#include <immintrin.h>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/mask_row_words.hpp"

namespace llama3::kernels::avx2 {
namespace {

struct Lanes {
  static void forbid_all(float* p) {
    const __m256 forbidden = _mm256_set1_ps(-INFINITY);
    for (std::size_t k = 0; k < 64; k += 8) _mm256_storeu_ps(p + k, forbidden);
  }
  static void forbid_clear(float* p, std::uint64_t bits) {
    const __m256 forbidden = _mm256_set1_ps(-INFINITY);
    const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    for (std::size_t k = 0; k < 64; k += 8) {
      const __m256i word_bits = _mm256_set1_epi32(static_cast<int>((bits >> k) & 0xFF));
      // All ones in the lanes whose token is allowed.
      const __m256i allowed = _mm256_cmpeq_epi32(_mm256_and_si256(word_bits, lane_bit), lane_bit);
      _mm256_storeu_ps(
          p + k, _mm256_blendv_ps(forbidden, _mm256_loadu_ps(p + k), _mm256_castsi256_ps(allowed)));
    }
  }
};

}  // namespace

void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words) {
  mask_row_words::mask_row<Lanes>(row, n, allowed, n_words);
}

}  // namespace llama3::kernels::avx2
