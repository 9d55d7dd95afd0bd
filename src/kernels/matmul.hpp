// Weight-matrix products: the one kernel entry point the forward pass calls for every linear layer.
// Today: dequantize a weight row once per batch, then dot it with every token (so a prompt batch
// reuses each row from cache). The fast-kernel work replaces the inside, not this interface.
#pragma once

#include <cstddef>

#include "io/tensor_type.hpp"
#include "kernels/thread_pool.hpp"

namespace llama3::kernels {

// A stored weight matrix [rows, cols]: row r is output feature r, its `cols` inputs packed in `type`.
struct WeightMatrix {
  io::TensorType type = io::TensorType::kF32;
  const void* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t row_bytes = 0;

  const void* row(std::size_t r) const { return static_cast<const std::byte*>(data) + r * row_bytes; }
};

// y[t, r] = sum_c w[r, c] * x[t, c] for t < n_tokens.  x: [n_tokens, w.cols], y: [n_tokens, w.rows].
void matmul(const WeightMatrix& w, const float* x, std::size_t n_tokens, float* y, ThreadPool& pool);

// out[c] = w[row, c] as f32 (embedding lookup).  out: [w.cols]
void dequantize_matrix_row(const WeightMatrix& w, std::size_t row, float* out);

}  // namespace llama3::kernels
