// Packing of the K-quants into their VNNI-order bit planes (layout in k_quant_layout.hpp): every
// plane is the file's bytes moved 4 at a time, so a group packs at memory speed with no decoding.
#include <cstring>

#include "kernels/k_quant_layout.hpp"
#include "kernels/quant_blocks.hpp"

namespace llama3::kernels {
namespace {

// Copies `n_chunks` runs of 4 bytes from `from` (consecutive) to VNNI chunks of `to`: run j goes to
// row `row`'s slot of chunk j.
void scatter_row_chunks(const std::uint8_t* from, std::size_t n_chunks, std::size_t row,
                        std::uint8_t* to) {
  for (std::size_t j = 0; j < n_chunks; ++j) {
    std::memcpy(to + j * kKChunkBytes + 4 * row, from + 4 * j, 4);
  }
}

template <typename Block>
void pack_q4_k_q5_k(const std::byte* stored, std::size_t row_bytes, std::size_t n_rows,
                    std::size_t n_super, std::uint8_t* scales, std::uint8_t* data) {
  constexpr bool kHighBits = sizeof(Block) == sizeof(BlockQ5_K);
  constexpr std::size_t kDataBytes = kQ4KNibbleBytes + (kHighBits ? kQ5KHighBitBytes : 0);
  for (std::size_t i = 0; i < n_rows; ++i) {
    const std::byte* row = stored + i * row_bytes;
    for (std::size_t s = 0; s < n_super; ++s) {
      Block block;
      std::memcpy(&block, row + s * sizeof(Block), sizeof(Block));
      std::uint8_t* sb_scales = scales + s * kQ4KScaleBytes;
      std::uint8_t* sb_data = data + s * kDataBytes;
      std::memcpy(sb_scales + 2 * i, &block.d, 2);
      std::memcpy(sb_scales + kKMinOffset + 2 * i, &block.dmin, 2);
      for (std::size_t sub = 0; sub < 8; ++sub) {
        const ScaleMin sm = unpack_scale_min(block.scales, sub);
        sb_scales[kKSubScaleOffset + 32 * sub + i] = sm.scale;
        sb_scales[kKSubScaleOffset + 32 * sub + 16 + i] = sm.min;
      }
      // qs[32c + 4j ..] -> nibble chunk 8c + j: the 128 bytes are 32 consecutive runs.
      if constexpr (kHighBits) {
        scatter_row_chunks(block.qh.data(), 8, i, sb_data);
        sb_data += kQ5KHighBitBytes;
      }
      scatter_row_chunks(block.qs.data(), 32, i, sb_data);
    }
  }
}

void pack_q6_k(const std::byte* stored, std::size_t row_bytes, std::size_t n_rows,
               std::size_t n_super, std::uint8_t* scales, std::uint8_t* data) {
  constexpr std::size_t kDataBytes = 2 * kQ6KHalfBytes;
  for (std::size_t i = 0; i < n_rows; ++i) {
    const std::byte* row = stored + i * row_bytes;
    for (std::size_t s = 0; s < n_super; ++s) {
      BlockQ6_K block;
      std::memcpy(&block, row + s * sizeof(BlockQ6_K), sizeof(BlockQ6_K));
      std::uint8_t* sb_scales = scales + s * kQ6KScaleBytes;
      std::uint8_t* sb_data = data + s * kDataBytes;
      std::memcpy(sb_scales + 2 * i, &block.d, 2);
      for (std::size_t sub = 0; sub < 16; ++sub) {
        sb_scales[kQ6KSubScaleOffset + 16 * sub + i] = static_cast<std::uint8_t>(block.scales[sub]);
      }
      // ql[64h + 4j ..] -> half h's nibble chunk j; qh[32h + 4j ..] -> half h's pair chunk j.
      for (std::size_t h = 0; h < 2; ++h) {
        std::uint8_t* half = sb_data + h * kQ6KHalfBytes;
        scatter_row_chunks(block.ql.data() + 64 * h, 8, i, half);
        scatter_row_chunks(block.qh.data() + 32 * h, 8, i, half + kQ6KPairOffset);
        scatter_row_chunks(block.ql.data() + 64 * h + 32, 8, i, half + kQ6KSecondNibbleOffset);
      }
    }
  }
}

}  // namespace

void pack_k_quant_group(io::TensorType type, const std::byte* stored, std::size_t row_bytes,
                        std::size_t n_rows, std::size_t n_super, std::uint8_t* scales,
                        std::uint8_t* data) {
  if (n_rows < kKGroupRows) {
    // Rows past the matrix: d = 0 and zero quants, so they add nothing.
    std::memset(scales, 0, n_super * k_quant_scale_bytes(type));
    std::memset(data, 0, n_super * k_quant_data_bytes(type));
  }
  switch (type) {
    case io::TensorType::kQ4_K:
      return pack_q4_k_q5_k<BlockQ4_K>(stored, row_bytes, n_rows, n_super, scales, data);
    case io::TensorType::kQ5_K:
      return pack_q4_k_q5_k<BlockQ5_K>(stored, row_bytes, n_rows, n_super, scales, data);
    default:
      return pack_q6_k(stored, row_bytes, n_rows, n_super, scales, data);
  }
}

}  // namespace llama3::kernels
