// Portable K-quant kernels compiled with AVX2 + FMA + F16C (flags in src/CMakeLists.txt).
#define LLAMA3_PACKED_ARCH avx2
#include "kernels/arch/k_quant_kernels_portable.inl"
