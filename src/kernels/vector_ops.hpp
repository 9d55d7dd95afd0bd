// Element-wise and row-wise f32 operations of the forward pass (scalar; the compiler vectorises
// them).
#pragma once

#include <cstddef>
#include <cstdint>

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

// row[i] = -infinity for every i < n whose bit in the bitset `allowed` is clear (bit i % 64 of
// word i / 64; words at or past n_words count as zero), with the CPU's widest vectors
// (active_arch()); the other entries are left as they are. row: [n], allowed: [n_words]
void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words);
// The same at a given arch (Arch::kScalar: the one-logit-at-a-time reference).
void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words,
              Arch arch);

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
