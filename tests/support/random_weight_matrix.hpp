// A weight matrix of seeded normal values stored in a given type (as a GGUF file holds it), for
// the kernel and packing tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/matmul.hpp"
#include "kernels/reference.hpp"
#include "support/quant_test_support.hpp"

namespace llama3::test {

struct RandomWeightMatrix {
  std::vector<std::uint8_t> stored;  // [rows, row_bytes]
  kernels::WeightMatrix matrix;      // views `stored`; not packed
};

inline RandomWeightMatrix random_weight_matrix(std::mt19937& rng, io::TensorType type,
                                               std::size_t rows, std::size_t cols) {
  RandomWeightMatrix m;
  const std::size_t row_bytes = packed_bytes(type, cols);
  m.stored.resize(rows * row_bytes);
  for (std::size_t r = 0; r < rows; ++r) {
    const auto values = normal_values(rng, cols);
    kernels::reference::quantize_row(type, values.data(), m.stored.data() + r * row_bytes, cols);
  }
  m.matrix.type = type;
  m.matrix.data = m.stored.data();
  m.matrix.rows = rows;
  m.matrix.cols = cols;
  m.matrix.row_bytes = row_bytes;
  return m;
}

}  // namespace llama3::test
