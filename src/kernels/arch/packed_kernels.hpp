// The per-arch kernels over packed weights. Each arch namespace is compiled in its own file with
// its own target flags (see src/CMakeLists.txt); matmul.cpp picks one at run time. All write y:
// [n_tokens, w.rows()] and read only the rows/groups they are given, so threads split the work.
#pragma once

#include <cstddef>

#include "kernels/packed_matrix.hpp"
#include "kernels/quantized_activations.hpp"

#define LLAMA3_DECLARE_PACKED_KERNELS(arch)                                               \
  namespace llama3::kernels::arch {                                                       \
  /* Integer-block weights, row groups [group_begin, group_end), all tokens of `x`. */    \
  void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x,             \
                        std::size_t group_begin, std::size_t group_end, float* y);        \
  /* Plain (F32/F16/BF16) weights, row groups [group_begin, group_end) (plain_kernels_*). \
     x: [n_tokens, w.cols()] */                                                           \
  void plain_matmul(const PackedMatrix& w, const float* x, std::size_t n_tokens,          \
                    std::size_t group_begin, std::size_t group_end, float* y);            \
  }

LLAMA3_DECLARE_PACKED_KERNELS(sse4)
LLAMA3_DECLARE_PACKED_KERNELS(avx2)
LLAMA3_DECLARE_PACKED_KERNELS(avx512)

#undef LLAMA3_DECLARE_PACKED_KERNELS
