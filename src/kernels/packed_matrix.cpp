#include "kernels/packed_matrix.hpp"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/half_float.hpp"
#include "kernels/huge_page_arena.hpp"
#include "kernels/k_quant_layout.hpp"
#include "kernels/pack_legacy_quants.hpp"
#include "kernels/quant_blocks.hpp"
#include "llama3/error.hpp"

namespace llama3::kernels {
namespace {

constexpr std::size_t kCacheLine = 64;

std::size_t round_up(std::size_t n, std::size_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

template <typename Block>
Block read_block(const std::byte* at) {
  Block block;
  std::memcpy(&block, at, sizeof(Block));
  return block;
}

// One row decoded to integer blocks. q: [cols] (0..255), scale/min: [cols / B].
struct DecodedRow {
  std::vector<std::uint8_t> q;
  std::vector<float> scale;
  std::vector<float> min;
};

// Fifth bit of element j of a Q5_0/Q5_1 block.
int q5_high_bit(const std::array<std::uint8_t, 4>& qh, std::size_t j) {
  std::uint32_t bits;
  std::memcpy(&bits, qh.data(), 4);
  return static_cast<int>((bits >> j) & 1u);
}

void decode_row(io::TensorType type, const std::byte* row, std::size_t cols, DecodedRow& out) {
  using io::TensorType;
  std::uint8_t* q = out.q.data();
  float* scale = out.scale.data();
  float* min = out.min.data();
  switch (type) {
    case TensorType::kQ8_0:
      for (std::size_t b = 0; b < cols / 32; ++b) {
        const auto block = read_block<BlockQ8_0>(row + b * sizeof(BlockQ8_0));
        for (std::size_t j = 0; j < 32; ++j)
          q[b * 32 + j] = static_cast<std::uint8_t>(block.qs[j] + 128);
        scale[b] = f16_to_f32(block.d);
      }
      return;
    case TensorType::kQ4_0:
    case TensorType::kQ4_1:
      for (std::size_t b = 0; b < cols / 32; ++b) {
        const bool q4_1 = type == TensorType::kQ4_1;
        const auto* at = row + b * (q4_1 ? sizeof(BlockQ4_1) : sizeof(BlockQ4_0));
        std::array<std::uint8_t, 16> qs;
        if (q4_1) {
          const auto block = read_block<BlockQ4_1>(at);
          qs = block.qs;
          scale[b] = f16_to_f32(block.d);
          min[b] = f16_to_f32(block.m);
        } else {
          const auto block = read_block<BlockQ4_0>(at);
          qs = block.qs;
          scale[b] = f16_to_f32(block.d);
        }
        for (std::size_t j = 0; j < 16; ++j) {
          q[b * 32 + j] = qs[j] & 0xF;
          q[b * 32 + j + 16] = qs[j] >> 4;
        }
      }
      return;
    case TensorType::kQ5_0:
    case TensorType::kQ5_1:
      for (std::size_t b = 0; b < cols / 32; ++b) {
        const bool q5_1 = type == TensorType::kQ5_1;
        const auto* at = row + b * (q5_1 ? sizeof(BlockQ5_1) : sizeof(BlockQ5_0));
        std::array<std::uint8_t, 16> qs;
        std::array<std::uint8_t, 4> qh;
        if (q5_1) {
          const auto block = read_block<BlockQ5_1>(at);
          qs = block.qs;
          qh = block.qh;
          scale[b] = f16_to_f32(block.d);
          min[b] = f16_to_f32(block.m);
        } else {
          const auto block = read_block<BlockQ5_0>(at);
          qs = block.qs;
          qh = block.qh;
          scale[b] = f16_to_f32(block.d);
        }
        for (std::size_t j = 0; j < 16; ++j) {
          q[b * 32 + j] = static_cast<std::uint8_t>((qs[j] & 0xF) | (q5_high_bit(qh, j) << 4));
          q[b * 32 + j + 16] =
              static_cast<std::uint8_t>((qs[j] >> 4) | (q5_high_bit(qh, j + 16) << 4));
        }
      }
      return;
    default:
      throw Error(ErrorCode::kInternal, "decode_row: not an integer-block type");
  }
}

// Rows [first_row, first_row + n_rows) of a stored plain matrix (n_rows <= 16) as one group
// [cols][16]. Slices of kSliceCols columns of the 16 rows are copied to the stack first, so the
// 16 source streams and the one destination stream are each read or written in order.
template <typename Value>
void interleave_plain_group(const std::byte* stored, std::size_t row_bytes, std::size_t n_rows,
                            std::size_t cols, std::byte* group) {
  constexpr std::size_t kSliceCols = 64;
  Value slice[kPackedGroupRows][kSliceCols] = {};  // [16 rows][kSliceCols]; missing rows stay 0
  Value out[kSliceCols][kPackedGroupRows];         // [kSliceCols][16]
  for (std::size_t c0 = 0; c0 < cols; c0 += kSliceCols) {
    const std::size_t n = std::min(kSliceCols, cols - c0);
    for (std::size_t i = 0; i < n_rows; ++i) {
      std::memcpy(slice[i], stored + i * row_bytes + c0 * sizeof(Value), n * sizeof(Value));
    }
    for (std::size_t c = 0; c < kSliceCols; ++c) {
      for (std::size_t i = 0; i < kPackedGroupRows; ++i) out[c][i] = slice[i][c];
    }
    std::memcpy(group + c0 * kPackedGroupRows * sizeof(Value), out,
                n * kPackedGroupRows * sizeof(Value));
  }
}

}  // namespace

IntBlockFormat int_block_format(io::TensorType type) {
  using io::TensorType;
  switch (type) {
    case TensorType::kQ8_0:
      return {32, false, false, 128};
    case TensorType::kQ4_0:
      return {32, true, false, 8};
    case TensorType::kQ4_1:
      return {32, true, true, 0};
    case TensorType::kQ5_0:
      return {32, false, false, 16};
    case TensorType::kQ5_1:
      return {32, false, true, 0};
    case TensorType::kQ4_K:
      return {32, true, true, 0, true};
    case TensorType::kQ5_K:
      return {32, false, true, 0, true};
    case TensorType::kQ6_K:
      return {16, false, false, 32, true};
    default:
      throw Error(ErrorCode::kInternal, "int_block_format: not an integer-block type");
  }
}

bool PackedMatrix::supports(io::TensorType type) {
  using io::TensorType;
  switch (type) {
    case TensorType::kF32:
    case TensorType::kF16:
    case TensorType::kBF16:
    case TensorType::kQ8_0:
    case TensorType::kQ4_0:
    case TensorType::kQ4_1:
    case TensorType::kQ5_0:
    case TensorType::kQ5_1:
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
    case TensorType::kQ6_K:
      return true;
    default:
      return false;
  }
}

PackedMatrix::PackedMatrix(io::TensorType type, std::size_t rows, std::size_t cols)
    : type_(type), rows_(rows), cols_(cols) {
  if (!supports(type))
    throw Error(ErrorCode::kUnsupported, "PackedMatrix: unsupported weight type");
  const auto& traits = io::traits_of(type);
  if (cols % traits.block_size != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "PackedMatrix: row length not a whole number of blocks");
  }
  int_blocks_ = traits.block_size > 1;
  n_groups_ = (rows + kPackedGroupRows - 1) / kPackedGroupRows;
  if (!int_blocks_) {
    group_bytes_ = round_up(cols * kPackedGroupRows * traits.block_bytes, kCacheLine);
    storage_ = PageBuffer(n_groups_ * group_bytes_);
    return;
  }
  format_ = int_block_format(type);
  if (format_.super_blocks) {
    const std::size_t n_super = super_blocks_per_row();
    data_offset_ = round_up(n_super * k_quant_scale_bytes(type), kCacheLine);
    group_bytes_ = round_up(data_offset_ + n_super * k_quant_data_bytes(type), kCacheLine);
    storage_ = PageBuffer(n_groups_ * group_bytes_);
    return;
  }
  const std::size_t nb = blocks_per_row();
  const std::size_t scale_bytes = nb * kPackedGroupRows * sizeof(std::uint16_t);
  mins_offset_ = scale_bytes;
  data_offset_ = round_up(scale_bytes * (format_.has_mins ? 2 : 1), kCacheLine);
  group_bytes_ = round_up(data_offset_ + nb * block_data_bytes(), kCacheLine);
  storage_ = PageBuffer(n_groups_ * group_bytes_);
}

std::size_t PackedMatrix::block_data_bytes() const {
  return kPackedGroupRows * format_.block_values / (format_.nibbles ? 2 : 1);
}

const std::uint16_t* PackedMatrix::group_scales(std::size_t g) const {
  return reinterpret_cast<const std::uint16_t*>(storage_.data() + g * group_bytes_);
}

const std::uint16_t* PackedMatrix::group_mins(std::size_t g) const {
  return reinterpret_cast<const std::uint16_t*>(storage_.data() + g * group_bytes_ + mins_offset_);
}

const std::uint8_t* PackedMatrix::group_super_scales(std::size_t g) const {
  return reinterpret_cast<const std::uint8_t*>(storage_.data() + g * group_bytes_);
}

const std::uint8_t* PackedMatrix::group_data(std::size_t g) const {
  return reinterpret_cast<const std::uint8_t*>(storage_.data() + g * group_bytes_ + data_offset_);
}

void PackedMatrix::pack_groups(const void* stored, std::size_t row_bytes, std::size_t first_group,
                               std::size_t end_group) {
  const auto* bytes = static_cast<const std::byte*>(stored);
  if (!int_blocks_) {
    for (std::size_t g = first_group; g < end_group; ++g) {
      const std::size_t first_row = g * kPackedGroupRows;
      const std::size_t n_rows = std::min(kPackedGroupRows, rows_ - first_row);
      const std::byte* rows = bytes + first_row * row_bytes;
      std::byte* group = storage_.data() + g * group_bytes_;
      if (type_ == io::TensorType::kF32) {
        interleave_plain_group<std::uint32_t>(rows, row_bytes, n_rows, cols_, group);
      } else {
        interleave_plain_group<std::uint16_t>(rows, row_bytes, n_rows, cols_, group);
      }
    }
    return;
  }
  if (format_.super_blocks) {
    for (std::size_t g = first_group; g < end_group; ++g) {
      auto* group = reinterpret_cast<std::uint8_t*>(storage_.data() + g * group_bytes_);
      const std::size_t first_row = g * kPackedGroupRows;
      pack_k_quant_group(type_, bytes + first_row * row_bytes, row_bytes,
                         std::min(kPackedGroupRows, rows_ - first_row), super_blocks_per_row(),
                         group, group + data_offset_);
    }
    return;
  }
  if (detail::has_direct_packer(type_)) {
    for (std::size_t g = first_group; g < end_group; ++g) {
      auto* group = storage_.data() + g * group_bytes_;
      const detail::GroupTarget target{reinterpret_cast<std::uint16_t*>(group),
                                       reinterpret_cast<std::uint16_t*>(group + mins_offset_),
                                       reinterpret_cast<std::uint8_t*>(group + data_offset_)};
      const std::size_t first_row = g * kPackedGroupRows;
      detail::pack_group_direct(type_, bytes + first_row * row_bytes, row_bytes,
                                std::min(kPackedGroupRows, rows_ - first_row), cols_, target);
    }
    return;
  }
  const std::size_t B = format_.block_values;
  const std::size_t nb = blocks_per_row();
  // Decoded rows of one group: [16][cols] etc. Padding rows stay q = zero point, scale 0.
  std::vector<DecodedRow> decoded(kPackedGroupRows);
  for (auto& row : decoded) {
    row.q.resize(cols_);
    row.scale.resize(nb);
    row.min.resize(nb);
  }
  for (std::size_t g = first_group; g < end_group; ++g) {
    auto* group = storage_.data() + g * group_bytes_;
    auto* scales = reinterpret_cast<std::uint16_t*>(group);
    auto* mins = reinterpret_cast<std::uint16_t*>(group + mins_offset_);
    auto* data = reinterpret_cast<std::uint8_t*>(group + data_offset_);
    for (std::size_t i = 0; i < kPackedGroupRows; ++i) {
      auto& row = decoded[i];
      const std::size_t r = g * kPackedGroupRows + i;
      if (r < rows_) {
        decode_row(type_, bytes + r * row_bytes, cols_, row);
      } else {
        std::fill(row.q.begin(), row.q.end(), static_cast<std::uint8_t>(format_.zero_point));
        std::fill(row.scale.begin(), row.scale.end(), 0.0f);
        std::fill(row.min.begin(), row.min.end(), 0.0f);
      }
    }
    for (std::size_t b = 0; b < nb; ++b) {
      for (std::size_t i = 0; i < kPackedGroupRows; ++i) {
        scales[b * kPackedGroupRows + i] = f32_to_f16(decoded[i].scale[b]);
        if (format_.has_mins) mins[b * kPackedGroupRows + i] = f32_to_f16(decoded[i].min[b]);
      }
      // VNNI order: 64-byte chunk k holds values 4k..4k+3 of rows 0..15 (row i at bytes 4i..4i+3).
      // With nibbles, chunk c (< B/8) holds chunk c in its low nibbles and chunk c + B/8 in its
      // high.
      std::uint8_t* block = data + b * block_data_bytes();
      const std::size_t n_chunks = B / 4;
      for (std::size_t k = 0; k < n_chunks; ++k) {
        for (std::size_t i = 0; i < kPackedGroupRows; ++i) {
          for (std::size_t m = 0; m < 4; ++m) {
            const std::uint8_t value = decoded[i].q[b * B + 4 * k + m];
            if (!format_.nibbles) {
              block[64 * k + 4 * i + m] = value;
            } else if (k < n_chunks / 2) {
              block[64 * k + 4 * i + m] = value;
            } else {
              block[64 * (k - n_chunks / 2) + 4 * i + m] |= static_cast<std::uint8_t>(value << 4);
            }
          }
        }
      }
    }
  }
}

}  // namespace llama3::kernels
