#include "kernels/matmul.hpp"

#include <vector>

#include "kernels/reference.hpp"
#include "kernels/vector_ops.hpp"

namespace llama3::kernels {

void dequantize_matrix_row(const WeightMatrix& w, std::size_t row, float* out) {
  reference::dequantize_row(w.type, w.row(row), out, w.cols);
}

void matmul(const WeightMatrix& w, const float* x, std::size_t n_tokens, float* y, ThreadPool& pool) {
  pool.parallel_for(w.rows, 16, [&](std::size_t begin, std::size_t end, int) {
    // Per-thread scratch, grown once: no allocation on the per-token path after the first call.
    thread_local std::vector<float> row_values;
    if (row_values.size() < w.cols) row_values.resize(w.cols);
    for (std::size_t r = begin; r < end; ++r) {
      const float* row = nullptr;
      if (w.type == io::TensorType::kF32) {
        row = static_cast<const float*>(w.row(r));
      } else {
        reference::dequantize_row(w.type, w.row(r), row_values.data(), w.cols);
        row = row_values.data();
      }
      for (std::size_t t = 0; t < n_tokens; ++t) {
        y[t * w.rows + r] = dot_f32(row, x + t * w.cols, w.cols);
      }
    }
  });
}

}  // namespace llama3::kernels
