// Rewriting one tensor in another type, shared by quantize and convert: rows are dequantized to f32
// (permuted on the way when asked), checked to be finite, quantized to the target type on every
// thread of a pool, and the round-trip error is accumulated per target type. One tensor at a time,
// so a converter holds a tensor, never a model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "io/tensor_type.hpp"
#include "kernels/thread_pool.hpp"
#include "llama3/convert.hpp"

namespace llama3::convert {

struct SourceTensor {
  std::string name;
  io::TensorType type;
  const std::byte* data;
  std::uint64_t row_length;  // ne[0]
  std::uint64_t n_rows;      // ne[1] * ne[2] * ne[3]
  // When set, output row r is source row source_row(r) (HF q/k order -> Meta order).
  std::function<std::size_t(std::size_t)> source_row;
  // When set, called with each output row's f32 values before they are written (a merged LoRA
  // update); the tensor is then always rewritten.
  std::function<void(std::size_t row, float* values)> adjust_row;
};

// Sum of squared round-trip errors and of squared weights, per target type.
class QuantizationError {
 public:
  void add(io::TensorType type, double squared_error, double squared_value, std::uint64_t bytes);
  double relative_rmse(io::TensorType type) const;
  // One entry per output type, in type order: tensors, bytes, sqrt(sum err^2 / sum x^2).
  std::vector<ConvertedType> summary() const;

 private:
  struct Sums {
    int tensors = 0;
    double squared_error = 0.0;
    double squared_value = 0.0;
    std::uint64_t bytes = 0;
  };
  std::map<io::TensorType, Sums> by_type_;
};

// Appends `source` in `target` to `out`. When the types are equal and no rows move, the bytes are
// copied as they are (no error). Otherwise the error is measured against the f32 source values.
// Either way a NaN or infinite weight is an error (kBadFormat naming the tensor, row and column):
// quantizing it would spread it over its whole block, and the model would only print garbage.
void convert_tensor(const SourceTensor& source, io::TensorType target, kernels::ThreadPool& pool,
                    std::vector<std::byte>& out, QuantizationError& error);

}  // namespace llama3::convert
