// Per-arch element-wise operations; vector_ops.cpp picks one at run time.
#pragma once

#include <cstddef>

namespace llama3::kernels::avx512 {

// gate[i] = silu(gate[i]) * up[i], as kernels::silu_mul.
void silu_mul(float* gate, const float* up, std::size_t n);

}  // namespace llama3::kernels::avx512
