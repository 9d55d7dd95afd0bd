// Weight matrices repacked at load time for the fast kernels (not used by the scalar reference).
//
// Quantized types become "integer blocks": every block of B values (B = 32) of a
// row is an unsigned integer q[B] with value = scale * (q - zero_point) + min. Rows go in groups of
// 16 so one 512-bit register holds four consecutive values of all 16 rows (the operand order of
// VNNI's vpdpbusd): the kernels then compute 16 row-block dot products per register, with no
// horizontal sums. 4-bit types keep two values per byte, so the repacked matrix is as large as the
// file's; Q5_0/Q5_1 widen to one byte per value (+45–55%). The K-quants keep the file's bit planes
// and integer sub-block scales in a super-block layout of their own (k_quant_layout.hpp): about as
// large as the file.
// Plain types (F32, F16, BF16) keep their values but go in the same 16-row groups,
// column-interleaved: a group is [cols][16 rows], so one vector load is one column of 16 rows (the
// kernels multiply it by a broadcast activation: no horizontal sums) and each group is one
// contiguous stream (row-major rows of 4 KB made every row its own short stream, which the hardware
// prefetcher restarts on).
// The storage is anonymous memory carved from 2 MiB-aligned regions with transparent huge pages
// requested (huge_page_arena.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "io/tensor_type.hpp"
#include "kernels/huge_page_arena.hpp"

namespace llama3::kernels {

inline constexpr std::size_t kPackedGroupRows = 16;

// How a quantized type maps onto integer blocks.
struct IntBlockFormat {
  std::size_t block_values = 32;  // B
  bool nibbles = false;           // two 4-bit values per byte (else one value per byte)
  bool has_mins = false;          // an f16 `min` per block (else min = 0)
  int zero_point = 0;             // subtracted from q before scaling
  // K-quant super-block layout (k_quant_layout.hpp); B is then the sub-block size.
  bool super_blocks = false;
};

class PackedMatrix {
 public:
  // True when `type` has a packed form (every type the reference kernels run).
  static bool supports(io::TensorType type);

  // Repacks rows [0, rows) of a stored matrix; `row_bytes` is the stored row stride.
  // Rows can be packed in parallel by calling pack_groups on disjoint group ranges.
  PackedMatrix(io::TensorType type, std::size_t rows, std::size_t cols);
  void pack_groups(const void* stored, std::size_t row_bytes, std::size_t first_group,
                   std::size_t end_group);

  io::TensorType type() const { return type_; }
  bool is_int_blocks() const { return int_blocks_; }
  const IntBlockFormat& format() const { return format_; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  std::size_t n_groups() const { return n_groups_; }
  std::size_t blocks_per_row() const { return cols_ / format_.block_values; }
  std::size_t bytes() const { return storage_.size(); }

  // Integer blocks, group g: scales [blocks_per_row, 16] f16, mins (same shape, if has_mins), and
  // the block data [blocks_per_row, block_data_bytes()] in VNNI order (see the .cpp).
  const std::uint16_t* group_scales(std::size_t g) const;
  const std::uint16_t* group_mins(std::size_t g) const;
  const std::uint8_t* group_data(std::size_t g) const;
  std::size_t block_data_bytes() const;

  // K-quants (format().super_blocks), group g: per super-block the scales [super_blocks_per_row,
  // k_quant_scale_bytes] and (group_data) the quants [super_blocks_per_row, k_quant_data_bytes].
  std::size_t super_blocks_per_row() const { return cols_ / 256; }
  const std::uint8_t* group_super_scales(std::size_t g) const;

  // Plain types, group g: [cols][16] values of the stored type, rows past rows() zero; 64-byte
  // aligned.
  const void* plain_group(std::size_t g) const { return storage_.data() + g * group_bytes_; }

 private:
  io::TensorType type_;
  bool int_blocks_ = false;
  IntBlockFormat format_;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  std::size_t n_groups_ = 0;
  std::size_t group_bytes_ = 0;
  std::size_t mins_offset_ = 0;
  std::size_t data_offset_ = 0;
  PageBuffer storage_;
};

// The integer-block format of a quantized type (B, nibbles, mins, zero point).
IntBlockFormat int_block_format(io::TensorType type);

}  // namespace llama3::kernels
