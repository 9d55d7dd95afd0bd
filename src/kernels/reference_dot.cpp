// dot_row and matvec: dequantize one block at a time and accumulate in double, so the result is the
// exact dot of the stored values with x up to one final rounding (the yardstick for fast kernels).
#include <algorithm>
#include <array>

#include "kernels/reference.hpp"
#include "kernels/reference_row.hpp"

namespace llama3::kernels::reference {
namespace {

// Plain types (block of one value) are converted this many values at a time.
constexpr std::size_t kPlainChunk = 256;

}  // namespace

float dot_row(io::TensorType type, const void* packed_row, const float* x, std::size_t n) {
  const RowShape shape = checked_row_shape(type, n, "dot_row");
  // Blocks converted per step: one quant block, or a chunk of a plain row.
  const std::size_t step_values = shape.block_values == 1 ? kPlainChunk : shape.block_values;
  const std::size_t step_bytes = step_values / shape.block_values * shape.block_bytes;
  const auto* bytes = static_cast<const std::byte*>(packed_row);

  std::array<float, kPlainChunk> values{};  // [step_values]; 256 is also the K-quant block size
  double sum = 0.0;
  for (std::size_t start = 0; start < n; start += step_values) {
    const std::size_t count = std::min(step_values, n - start);
    dequantize_row(type, bytes + start / step_values * step_bytes, values.data(), count);
    for (std::size_t i = 0; i < count; ++i) {
      sum += static_cast<double>(values[i]) * static_cast<double>(x[start + i]);
    }
  }
  return static_cast<float>(sum);
}

void matvec(io::TensorType type, const void* matrix, std::size_t row_stride_bytes,
            std::size_t n_rows, const float* x, std::size_t n, float* y) {
  checked_row_shape(type, n, "matvec");
  const auto* rows = static_cast<const std::byte*>(matrix);
  for (std::size_t r = 0; r < n_rows; ++r) y[r] = dot_row(type, rows + r * row_stride_bytes, x, n);
}

}  // namespace llama3::kernels::reference
