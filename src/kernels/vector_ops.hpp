// Element-wise and row-wise f32 operations of the forward pass (scalar; the compiler vectorises
// them).
#pragma once

#include <cstddef>

#include "kernels/cpu_arch.hpp"

namespace llama3::kernels {

// Sum of a[i]*b[i], with several partial sums so the loop vectorises without -ffast-math.
float dot_f32(const float* a, const float* b, std::size_t n);

// out = x * rsqrt(mean(x^2) + eps) * weight.  x, weight, out: [n] (out may alias x)
void rms_norm(const float* x, const float* weight, float* out, std::size_t n, float eps);

// In-place softmax over [n]; the maximum is subtracted first for stability.
void softmax(float* x, std::size_t n);

// gate[i] = silu(gate[i]) * up[i]   (SwiGLU)
void silu_mul(float* gate, const float* up, std::size_t n);
// The same at a given arch (AVX-512 uses a polynomial exp, within a few ulp of std::exp).
void silu_mul(float* gate, const float* up, std::size_t n, Arch arch);

// x[i] = value for i < n, with the widest stores the CPU has (active_arch()).
void fill(float* x, std::size_t n, float value);
// The same at a given arch.
void fill(float* x, std::size_t n, float value, Arch arch);

// Rotates adjacent pairs (x[2i], x[2i+1]) of each of n_heads heads of size head_dim by the angle
// whose cosine and sine are cos[i], sin[i] (i < head_dim/2): GGUF/Meta "normal" RoPE.  x: [n_heads,
// head_dim]
void rope_adjacent_pairs(float* x, std::size_t n_heads, std::size_t head_dim, const float* cos,
                         const float* sin);

// y += a * x
void axpy(float a, const float* x, float* y, std::size_t n);

// Rotates half-split pairs (x[i], x[i + head_dim/2]) of each head by cos[i], sin[i]: the HF/NEOX
// form, equal to rope_adjacent_pairs on rows in Hugging Face's permuted q/k order (docs/facts.md
// §4). x: [n_heads, head_dim]
void rope_half_split(float* x, std::size_t n_heads, std::size_t head_dim, const float* cos,
                     const float* sin);

}  // namespace llama3::kernels
