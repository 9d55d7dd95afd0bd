#include "kernels/pack_legacy_quants.hpp"

#include <cstring>

#include "kernels/packed_matrix.hpp"
#include "kernels/quant_blocks.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace llama3::kernels::detail {
namespace {

constexpr std::size_t kRows = kPackedGroupRows;

// Writes 16 bytes of each of 4 rows as VNNI chunks: dword k of row i goes to
// chunk k, slot i (out + 64k + 4i), i.e. a 4x4 transpose of dwords per 4 rows. `flip` is XORed
// into every byte (0x80 turns int8 into the packed unsigned form).
void transpose_4_rows(const std::uint8_t* const (&src)[4], std::uint8_t* out, std::uint8_t flip) {
#if defined(__SSE2__)
  const __m128i x = _mm_set1_epi8(static_cast<char>(flip));
  __m128i r[4];
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[i])), x);
  }
  const __m128i a = _mm_unpacklo_epi32(r[0], r[1]);  // r0.0 r1.0 r0.1 r1.1
  const __m128i b = _mm_unpacklo_epi32(r[2], r[3]);  // r2.0 r3.0 r2.1 r3.1
  const __m128i c = _mm_unpackhi_epi32(r[0], r[1]);  // r0.2 r1.2 r0.3 r1.3
  const __m128i d = _mm_unpackhi_epi32(r[2], r[3]);  // r2.2 r3.2 r2.3 r3.3
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 0), _mm_unpacklo_epi64(a, b));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 64), _mm_unpackhi_epi64(a, b));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 128), _mm_unpacklo_epi64(c, d));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 192), _mm_unpackhi_epi64(c, d));
#else
  for (std::size_t i = 0; i < 4; ++i) {
    for (std::size_t k = 0; k < 4; ++k) {
      for (std::size_t m = 0; m < 4; ++m) {
        out[64 * k + 4 * i + m] = static_cast<std::uint8_t>(src[i][4 * k + m] ^ flip);
      }
    }
  }
#endif
}

// Type facts for the direct packers: byte offsets inside a block.
struct Layout {
  std::size_t block_bytes;
  std::size_t quants_offset;  // where qs starts
  std::size_t quant_bytes;    // 16 (nibbles) or 32 (bytes)
  bool has_min;
  std::uint8_t flip;     // XOR applied to every quant byte
  std::uint8_t padding;  // packed byte of a padding row (the zero point)
};

Layout layout_of(io::TensorType type) {
  switch (type) {
    case io::TensorType::kQ4_0:
      return {sizeof(BlockQ4_0), offsetof(BlockQ4_0, qs), 16, false, 0x00, 0x88};
    case io::TensorType::kQ4_1:
      return {sizeof(BlockQ4_1), offsetof(BlockQ4_1, qs), 16, true, 0x00, 0x00};
    default:  // kQ8_0
      return {sizeof(BlockQ8_0), offsetof(BlockQ8_0, qs), 32, false, 0x80, 0x80};
  }
}

}  // namespace

bool has_direct_packer(io::TensorType type) {
  return type == io::TensorType::kQ4_0 || type == io::TensorType::kQ4_1 ||
         type == io::TensorType::kQ8_0;
}

void pack_group_direct(io::TensorType type, const std::byte* first_row, std::size_t row_bytes,
                       std::size_t valid_rows, std::size_t cols, const GroupTarget& out) {
  const Layout layout = layout_of(type);
  const std::size_t nb = cols / kLegacyBlockValues;
  const std::size_t block_out = kRows * layout.quant_bytes;  // packed bytes per block
  // A padding row reads this block: its quants pack to the zero point (flip undoes itself).
  std::uint8_t padding[32];
  std::memset(padding, layout.padding ^ layout.flip, sizeof(padding));
  const auto* base = reinterpret_cast<const std::uint8_t*>(first_row);
  for (std::size_t b = 0; b < nb; ++b) {
    const std::size_t at = b * layout.block_bytes;
    for (std::size_t i = 0; i < kRows; ++i) {
      std::uint16_t d = 0, m = 0;
      if (i < valid_rows) {
        std::memcpy(&d, base + i * row_bytes + at, 2);
        if (layout.has_min) std::memcpy(&m, base + i * row_bytes + at + 2, 2);
      }
      out.scales[b * kRows + i] = d;
      if (layout.has_min) out.mins[b * kRows + i] = m;
    }
    std::uint8_t* block = out.data + b * block_out;
    for (std::size_t i0 = 0; i0 < kRows; i0 += 4) {
      // 16-byte halves of the quants: Q8_0 has two (chunks 0-3, then 4-7), nibble types one.
      for (std::size_t half = 0; half < layout.quant_bytes / 16; ++half) {
        const std::uint8_t* src[4];
        for (std::size_t j = 0; j < 4; ++j) {
          const std::size_t i = i0 + j;
          src[j] = i < valid_rows ? base + i * row_bytes + at + layout.quants_offset + 16 * half
                                  : padding;
        }
        transpose_4_rows(src, block + 256 * half + 4 * i0, layout.flip);
      }
    }
  }
}

}  // namespace llama3::kernels::detail
