// Portable plain-weight kernels compiled with AVX2 + FMA + F16C (flags in src/CMakeLists.txt).
#define LLAMA3_PACKED_ARCH avx2
#include "kernels/arch/plain_kernels_portable.inl"
