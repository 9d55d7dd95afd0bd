// Direct packers for the 32-value legacy types whose packed block is a byte permutation of the
// file's (Q4_0, Q4_1: the file's nibble pairs are already the packed pairs; Q8_0: a sign flip).
// They move 4-byte pieces with no decoding, so loading a Q4_0/Q8_0 model costs about one copy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "io/tensor_type.hpp"

namespace llama3::kernels::detail {

// Where one packed 16-row group goes (see PackedMatrix: scales/mins [blocks, 16], data [blocks,
// block_data_bytes]).
struct GroupTarget {
  std::uint16_t* scales;
  std::uint16_t* mins;
  std::uint8_t* data;
};

// True for the types pack_group_direct handles.
bool has_direct_packer(io::TensorType type);

// Packs one 16-row group: `first_row` is the group's first stored row, `valid_rows` (1..16) of them
// exist; padding rows get the zero point and zero scales, as the generic packer gives them.
void pack_group_direct(io::TensorType type, const std::byte* first_row, std::size_t row_bytes,
                       std::size_t valid_rows, std::size_t cols, const GroupTarget& out);

}  // namespace llama3::kernels::detail
