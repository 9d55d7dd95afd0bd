// Argument checks shared by the reference kernels: which types they run and how a row splits into
// blocks.
#pragma once

#include <cstddef>

#include "io/tensor_type.hpp"

namespace llama3::kernels::reference {

struct RowShape {
  std::size_t block_values;  // values per block (1 for F32/F16/BF16)
  std::size_t block_bytes;   // bytes per packed block
  std::size_t n_blocks;      // blocks in the row
};

// The block split of a row of n values of `type`; throws kUnsupported for a type the reference
// kernels do not run and kInvalidArgument when n is not a whole number of blocks. `operation` names
// the caller in the message ("dequantize_row").
RowShape checked_row_shape(io::TensorType type, std::size_t n, const char* operation);

}  // namespace llama3::kernels::reference
