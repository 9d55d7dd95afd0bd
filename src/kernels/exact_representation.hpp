// Searches for a block that reproduces its input bit for bit. The round-to-nearest quantizers do
// not always find one for input that is already representable (ggml's Q4_0 maps the value of
// largest magnitude to -8, so a block whose extreme is at +7 comes back with a different scale).
// Quantizing a dequantized tensor again must give the same values, so the quantizers fall back to
// these searches when their own block is not exact. The searches reject ordinary data after a few
// operations.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace llama3::kernels::reference {

// x[i] == float(q[i]) * f16(d) for every i, q in [q_min, q_max].
struct SymmetricQuants {
  std::uint16_t d = 0;      // f16 bits
  std::array<int, 32> q{};  // [n]
};

// x[i] == float(q[i]) * f16(d) + f16(m) (one f32 rounding), q in [0, q_max].
struct AffineQuants {
  std::uint16_t d = 0;      // f16 bits
  std::uint16_t m = 0;      // f16 bits
  std::array<int, 32> q{};  // [n]
};

// n <= 32.
std::optional<SymmetricQuants> find_exact_symmetric(const float* x, std::size_t n, int q_min,
                                                    int q_max);
// n <= 32.
std::optional<AffineQuants> find_exact_affine(const float* x, std::size_t n, int q_max);

// Q6_K: x[i] == f16(d) * scales[i / 16] * q[i], q in [-32, 31], scales in [-128, 127].
struct Q6KQuants {
  std::uint16_t d = 0;                   // f16 bits
  std::array<std::int8_t, 16> scales{};  // per sub-block of 16
  std::array<int, 256> q{};              // [256], signed
};

std::optional<Q6KQuants> find_exact_q6_k(const float* x);  // x: [256]

// True when a and b have the same bits (so -0 differs from +0 and a NaN never equals anything).
bool same_bits(float a, float b);

}  // namespace llama3::kernels::reference
