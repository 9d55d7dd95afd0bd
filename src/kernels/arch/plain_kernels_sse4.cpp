// Portable plain-weight kernels compiled for the x86-64-v2 (SSE4.2) baseline.
#define LLAMA3_PACKED_ARCH sse4
#include "kernels/arch/plain_kernels_portable.inl"
