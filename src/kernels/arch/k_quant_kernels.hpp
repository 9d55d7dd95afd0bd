// The per-arch kernels over K-quant weights in their super-block layout (k_quant_layout.hpp). Same
// contract as int_block_matmul (packed_kernels.hpp): y: [n_tokens, w.rows()], row groups
// [group_begin, group_end) only, activations rounded for w.format().
#pragma once

#include <cstddef>

#include "kernels/packed_matrix.hpp"
#include "kernels/quantized_activations.hpp"

#define LLAMA3_DECLARE_K_QUANT_KERNELS(arch)                                     \
  namespace llama3::kernels::arch {                                              \
  void k_quant_matmul(const PackedMatrix& w, const QuantizedActivations& x,      \
                      std::size_t group_begin, std::size_t group_end, float* y); \
  }

LLAMA3_DECLARE_K_QUANT_KERNELS(sse4)
LLAMA3_DECLARE_K_QUANT_KERNELS(avx2)
LLAMA3_DECLARE_K_QUANT_KERNELS(avx512)

#undef LLAMA3_DECLARE_K_QUANT_KERNELS
