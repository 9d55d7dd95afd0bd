// Weight-matrix products: the one kernel entry point the forward pass calls for every linear layer.
// With a packed copy of the weights (packed_matrix.hpp) and an arch above scalar, quantized weights
// run the integer-block kernels on activations rounded to 8 bits once per call, plain weights the
// FMA kernels; otherwise the scalar reference runs on the stored rows. Threads split the output
// rows.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "io/tensor_type.hpp"
#include "kernels/cpu_arch.hpp"
#include "kernels/packed_matrix.hpp"
#include "kernels/thread_pool.hpp"

namespace llama3::kernels {

// A stored weight matrix [rows, cols]: row r is output feature r, its `cols` inputs packed in
// `type`.
struct WeightMatrix {
  io::TensorType type = io::TensorType::kF32;
  const void* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t row_bytes = 0;
  const PackedMatrix* packed = nullptr;  // the kernels' copy, owned by the model (may be absent)

  const void* row(std::size_t r) const {
    return static_cast<const std::byte*>(data) + r * row_bytes;
  }
};

// y[t, r] = sum_c w[r, c] * x[t, c] for t < n_tokens.  x: [n_tokens, w.cols], y: [n_tokens,
// w.rows]. Runs at active_arch().
void matmul(const WeightMatrix& w, const float* x, std::size_t n_tokens, float* y,
            ThreadPool& pool);
// Runs at `arch` (which this CPU must run; tests force each level through this).
void matmul(const WeightMatrix& w, const float* x, std::size_t n_tokens, float* y, ThreadPool& pool,
            Arch arch);

// matmul(*ws[i], x, n_tokens, ys[i]) for every i, with the same results, in one pass: when every
// matrix has the same cols and all are integer blocks (activations rounded once per distinct
// rounding the formats need) or all are plain, the threads fork and join once; otherwise one
// matmul after another.
void matmul_same_input(std::span<const WeightMatrix* const> ws, const float* x,
                       std::size_t n_tokens, std::span<float* const> ys, ThreadPool& pool);
void matmul_same_input(std::span<const WeightMatrix* const> ws, const float* x,
                       std::size_t n_tokens, std::span<float* const> ys, ThreadPool& pool,
                       Arch arch);

// The kernels' packed copy of `w`'s stored rows, built with the pool's threads.
std::unique_ptr<PackedMatrix> pack_weight_matrix(const WeightMatrix& w, ThreadPool& pool);

// out[c] = w[row, c] as f32 (embedding lookup).  out: [w.cols]
void dequantize_matrix_row(const WeightMatrix& w, std::size_t row, float* out);

}  // namespace llama3::kernels
