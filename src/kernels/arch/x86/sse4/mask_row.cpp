// The SSE4 level's mask_row (MaskRowKernel, kernel_table.hpp): 4-float stores of -infinity, and
// blendv per 4 logits of a mixed word, its lane mask made from 4 bits of the word.
#include <immintrin.h>

#include "kernels/arch/arch_kernels.hpp"
#include "kernels/arch/mask_row_words.hpp"

namespace llama3::kernels::sse4 {
namespace {

struct Lanes {
  static void forbid_all(float* p) {
    const __m128 forbidden = _mm_set1_ps(-INFINITY);
    for (std::size_t k = 0; k < 64; k += 4) _mm_storeu_ps(p + k, forbidden);
  }
  static void forbid_clear(float* p, std::uint64_t bits) {
    const __m128 forbidden = _mm_set1_ps(-INFINITY);
    const __m128i lane_bit = _mm_setr_epi32(1, 2, 4, 8);
    for (std::size_t k = 0; k < 64; k += 4) {
      const __m128i word_bits = _mm_set1_epi32(static_cast<int>((bits >> k) & 0xF));
      // All ones in the lanes whose token is allowed.
      const __m128i allowed = _mm_cmpeq_epi32(_mm_and_si128(word_bits, lane_bit), lane_bit);
      _mm_storeu_ps(p + k,
                    _mm_blendv_ps(forbidden, _mm_loadu_ps(p + k), _mm_castsi128_ps(allowed)));
    }
  }
};

}  // namespace

void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words) {
  mask_row_words::mask_row<Lanes>(row, n, allowed, n_words);
}

}  // namespace llama3::kernels::sse4
