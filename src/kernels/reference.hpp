// Scalar reference kernels: the plainest correct code for each weight type. Fast kernels are tested
// against these; the model can also run on them alone (LLAMA3_ARCH=scalar).
// Block layouts: docs/facts.md §4 "Quant block layouts".
#pragma once

#include <cstddef>
#include <cstdint>

#include "io/tensor_type.hpp"

namespace llama3::kernels::reference {

// True for the types the kernels run: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K,
// Q6_K.
bool is_supported_weight_type(io::TensorType type);

// Every function below throws llama3::Error: kUnsupported for a type outside that list (the message
// names it), kInvalidArgument when n is not a multiple of the type's block size.

// n values (a multiple of the type's block size) from packed storage to f32.
void dequantize_row(io::TensorType type, const void* packed, float* out, std::size_t n);

// n f32 values to packed storage (round to nearest; K-types pick scales that minimise error).
void quantize_row(io::TensorType type, const float* in, void* packed, std::size_t n);

// Dot product of one packed row of n values with f32 x; accumulates in double for a stable
// reference.
float dot_row(io::TensorType type, const void* packed_row, const float* x, std::size_t n);

// y[r] = dot_row(row r, x) for r < n_rows; row r starts at matrix + r * row_stride_bytes.
// matrix: [n_rows, n] packed, x: [n], y: [n_rows].
void matvec(io::TensorType type, const void* matrix, std::size_t row_stride_bytes,
            std::size_t n_rows, const float* x, std::size_t n, float* y);

}  // namespace llama3::kernels::reference
