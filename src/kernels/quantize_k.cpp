// Quantizers of the K-quants (256-value super-blocks). Each sub-block gets a least-squares scale
// (and for Q4_K/Q5_K a non-negative offset) chosen among a few candidate grids and refined by
// re-rounding; the sub-block scales are then quantized against one f16 super-block scale (6 bits
// unsigned for Q4_K/Q5_K, 8 bits signed for Q6_K) and the values re-quantized with the scales as
// stored. The search is fixed, with no randomness, so the same input always gives the same bytes.
//
// Bit-exact round trips: Q6_K values are exact products d * sc * q, so a representable block is
// recovered by find_exact_q6_k when the fit misses it. Q4_K/Q5_K values are d*sc*q - dmin*m with
// one f32 rounding in the subtraction; recovering d, dmin, 8 scales and 8 mins from rounded values
// is a joint search over two f16 values and is not attempted, so their round trip is exact only
// when the fit happens to land on the original scales (see tests/kernels/test_quantize_exact.cpp).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "kernels/exact_representation.hpp"
#include "kernels/half_float.hpp"
#include "kernels/quantize_blocks.hpp"
#include "kernels/reference.hpp"

namespace llama3::kernels::reference {
namespace {

int clamp_round(float value, int lo, int hi) {
  const float rounded = std::nearbyint(value);
  if (!(rounded >= static_cast<float>(lo))) return lo;  // also NaN
  if (rounded > static_cast<float>(hi)) return hi;
  return static_cast<int>(rounded);
}

// x ≈ scale * q - offset with q in [0, q_max], scale >= 0 and offset >= 0 (Q4_K/Q5_K store the
// offset as dmin * m with both unsigned, so a sub-block's lowest level is never above zero).
struct AffineFit {
  float scale = 0.0f;
  float offset = 0.0f;
};

struct Sums {
  double error = std::numeric_limits<double>::infinity();
  AffineFit fit;
};

// Least-squares scale and offset for fixed quants, with the offset constrained to be >= 0.
Sums least_squares_affine(const float* x, const int* q, std::size_t n) {
  double sum_q = 0, sum_qq = 0, sum_x = 0, sum_xq = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum_q += q[i];
    sum_qq += static_cast<double>(q[i]) * q[i];
    sum_x += x[i];
    sum_xq += static_cast<double>(x[i]) * q[i];
  }
  const double count = static_cast<double>(n);
  const double det = count * sum_qq - sum_q * sum_q;
  double scale = 0.0;
  double shift = 0.0;  // x ≈ scale * q + shift
  if (det > 0.0) {
    scale = (count * sum_xq - sum_q * sum_x) / det;
    shift = (sum_x - scale * sum_q) / count;
  }
  if (det <= 0.0 || shift > 0.0) {
    shift = 0.0;
    scale = sum_qq > 0.0 ? sum_xq / sum_qq : 0.0;
  }
  Sums result;
  if (scale < 0.0) return result;
  result.error = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double diff = scale * q[i] + shift - x[i];
    result.error += diff * diff;
  }
  result.fit = {static_cast<float>(scale), static_cast<float>(-shift)};
  return result;
}

AffineFit fit_affine(const float* x, std::size_t n, int q_max) {
  const auto [lo_it, hi_it] = std::minmax_element(x, x + n);
  const float lo = std::min(*lo_it, 0.0f);
  const float hi = *hi_it;
  if (!(hi > lo)) return {0.0f, -lo};
  std::array<int, 32> q{};
  Sums best;
  // Candidate grids around q_max levels over [lo, hi]: fewer or more levels than the plain range
  // fit trade clipping of the extremes against finer steps.
  for (int step = -10; step <= 10; ++step) {
    const float inverse = (static_cast<float>(q_max) + 0.1f * static_cast<float>(step)) / (hi - lo);
    for (std::size_t i = 0; i < n; ++i) q[i] = clamp_round((x[i] - lo) * inverse, 0, q_max);
    const Sums trial = least_squares_affine(x, q.data(), n);
    if (trial.error < best.error) best = trial;
  }
  for (int round = 0; round < 4 && best.fit.scale > 0.0f; ++round) {
    for (std::size_t i = 0; i < n; ++i) {
      q[i] = clamp_round((x[i] + best.fit.offset) / best.fit.scale, 0, q_max);
    }
    const Sums trial = least_squares_affine(x, q.data(), n);
    if (!(trial.error < best.error)) break;
    best = trial;
  }
  return best.fit;
}

// x ≈ scale * q with q in [-32, 31]; scale may be negative so the extra level -32 can hold the
// value of largest magnitude whatever its sign.
float fit_symmetric(const float* x, std::size_t n) {
  float peak = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > std::fabs(peak)) peak = x[i];
  }
  if (peak == 0.0f) return 0.0f;
  std::array<int, 16> q{};
  double best_error = std::numeric_limits<double>::infinity();
  float best_scale = peak / -32.0f;
  auto try_quants = [&]() {
    double sum_qq = 0, sum_xq = 0;
    for (std::size_t i = 0; i < n; ++i) {
      sum_qq += static_cast<double>(q[i]) * q[i];
      sum_xq += static_cast<double>(x[i]) * q[i];
    }
    if (sum_qq == 0.0) return false;
    const double scale = sum_xq / sum_qq;
    double error = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double diff = scale * q[i] - x[i];
      error += diff * diff;
    }
    if (!(error < best_error)) return false;
    best_error = error;
    best_scale = static_cast<float>(scale);
    return true;
  };
  for (int step = -9; step <= 9; ++step) {
    const float inverse = -(32.0f + 0.1f * static_cast<float>(step)) / peak;
    for (std::size_t i = 0; i < n; ++i) q[i] = clamp_round(x[i] * inverse, -32, 31);
    try_quants();
  }
  for (int round = 0; round < 4; ++round) {
    for (std::size_t i = 0; i < n; ++i) q[i] = clamp_round(x[i] / best_scale, -32, 31);
    if (!try_quants()) break;
  }
  return best_scale;
}

// Q4_K and Q5_K: the quants (0..q_max, element order) and the packed header of one super-block.
struct KQuants {
  std::uint16_t d = 0;
  std::uint16_t dmin = 0;
  std::array<std::uint8_t, 12> scales{};
  std::array<int, 256> q{};
};

KQuants quantize_affine_k(const float* x, int q_max) {
  constexpr std::size_t kSub = 32;
  std::array<AffineFit, 8> fits{};
  float max_scale = 0.0f;
  float max_offset = 0.0f;
  for (std::size_t s = 0; s < 8; ++s) {
    fits[s] = fit_affine(x + s * kSub, kSub, q_max);
    max_scale = std::max(max_scale, fits[s].scale);
    max_offset = std::max(max_offset, fits[s].offset);
  }
  KQuants result;
  result.d = f32_to_f16(max_scale / 63.0f);
  result.dmin = f32_to_f16(max_offset / 63.0f);
  const float d = f16_to_f32(result.d);
  const float dmin = f16_to_f32(result.dmin);
  std::array<ScaleMin, 8> stored{};
  for (std::size_t s = 0; s < 8; ++s) {
    const int scale = d > 0.0f ? clamp_round(fits[s].scale / d, 0, 63) : 0;
    const int min = dmin > 0.0f ? clamp_round(fits[s].offset / dmin, 0, 63) : 0;
    stored[s] = {static_cast<std::uint8_t>(scale), static_cast<std::uint8_t>(min)};
    // Re-quantize against the scale and offset exactly as dequantize_row will form them.
    const float unit = d * static_cast<float>(scale);
    const float offset = dmin * static_cast<float>(min);
    for (std::size_t i = s * kSub; i < (s + 1) * kSub; ++i) {
      result.q[i] = unit > 0.0f ? clamp_round((x[i] + offset) / unit, 0, q_max) : 0;
    }
  }
  result.scales = pack_scale_mins(stored);
  return result;
}

}  // namespace

BlockQ4_K quantize_block_q4_k(const float* x) {
  const KQuants quants = quantize_affine_k(x, 15);
  BlockQ4_K block{};
  block.d = quants.d;
  block.dmin = quants.dmin;
  block.scales = quants.scales;
  for (std::size_t chunk = 0; chunk < 4; ++chunk) {
    for (std::size_t l = 0; l < 32; ++l) {
      block.qs[32 * chunk + l] = static_cast<std::uint8_t>(quants.q[64 * chunk + l] |
                                                           (quants.q[64 * chunk + 32 + l] << 4));
    }
  }
  return block;
}

BlockQ5_K quantize_block_q5_k(const float* x) {
  const KQuants quants = quantize_affine_k(x, 31);
  BlockQ5_K block{};
  block.d = quants.d;
  block.dmin = quants.dmin;
  block.scales = quants.scales;
  for (std::size_t chunk = 0; chunk < 4; ++chunk) {
    for (std::size_t l = 0; l < 32; ++l) {
      const int low = quants.q[64 * chunk + l];
      const int high = quants.q[64 * chunk + 32 + l];
      block.qs[32 * chunk + l] = static_cast<std::uint8_t>((low & 0xF) | ((high & 0xF) << 4));
      block.qh[l] = static_cast<std::uint8_t>(block.qh[l] | ((low >> 4) << (2 * chunk)) |
                                              ((high >> 4) << (2 * chunk + 1)));
    }
  }
  return block;
}

namespace {

// Packs signed quants (-32..31, element order) into the two-halves layout of Q6_K.
void pack_q6_k_quants(const std::array<int, 256>& q, BlockQ6_K& block) {
  for (std::size_t half = 0; half < 2; ++half) {
    for (std::size_t l = 0; l < 32; ++l) {
      const std::size_t base = 128 * half + l;
      const int q1 = q[base] + 32;
      const int q2 = q[base + 32] + 32;
      const int q3 = q[base + 64] + 32;
      const int q4 = q[base + 96] + 32;
      block.ql[64 * half + l] = static_cast<std::uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
      block.ql[64 * half + l + 32] = static_cast<std::uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
      block.qh[32 * half + l] = static_cast<std::uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) |
                                                          ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
}

bool reproduces_q6_k(const BlockQ6_K& block, const float* x) {
  std::array<float, 256> values{};
  dequantize_row(io::TensorType::kQ6_K, &block, values.data(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!same_bits(values[i], x[i])) return false;
  }
  return true;
}

}  // namespace

BlockQ6_K quantize_block_q6_k(const float* x) {
  constexpr std::size_t kSub = 16;
  std::array<float, 16> scales{};
  float peak_scale = 0.0f;
  for (std::size_t s = 0; s < 16; ++s) {
    scales[s] = fit_symmetric(x + s * kSub, kSub);
    if (std::fabs(scales[s]) > std::fabs(peak_scale)) peak_scale = scales[s];
  }
  BlockQ6_K block{};
  // The sub-block scale of largest magnitude lands on -128, the one level without a positive twin.
  block.d = f32_to_f16(peak_scale / -128.0f);
  const float d = f16_to_f32(block.d);
  std::array<int, 256> q{};
  for (std::size_t s = 0; s < 16; ++s) {
    const int scale = d != 0.0f ? clamp_round(scales[s] / d, -128, 127) : 0;
    block.scales[s] = static_cast<std::int8_t>(scale);
    const float unit = d * static_cast<float>(scale);
    for (std::size_t i = s * kSub; i < (s + 1) * kSub; ++i) {
      q[i] = unit != 0.0f ? clamp_round(x[i] / unit, -32, 31) : 0;
    }
  }
  pack_q6_k_quants(q, block);
  if (reproduces_q6_k(block, x)) return block;
  if (const auto exact = find_exact_q6_k(x)) {
    block.d = exact->d;
    block.scales = exact->scales;
    pack_q6_k_quants(exact->q, block);
  }
  return block;
}

}  // namespace llama3::kernels::reference
