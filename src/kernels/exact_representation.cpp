#include "kernels/exact_representation.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "kernels/half_float.hpp"

namespace llama3::kernels::reference {
namespace {

bool all_finite(const float* x, std::size_t n) {
  return std::all_of(x, x + n, [](float v) { return std::isfinite(v); });
}

// Smallest positive distance between two of the values x (and 0 when with_zero). In a representable
// block every value is a whole multiple of the unit (plus at most one f32 rounding for the affine
// types), so this bounds the unit from above and hence the quant span from below: a cheap test that
// rejects ordinary data, whose gaps are far smaller than any unit.
float smallest_gap(const float* x, std::size_t n, bool with_zero) {
  std::array<float, 33> sorted{};
  std::copy(x, x + n, sorted.begin());
  const std::size_t count = with_zero ? n + 1 : n;  // sorted[n] is already 0
  std::sort(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(count));
  float gap = std::numeric_limits<float>::infinity();
  for (std::size_t i = 1; i < count; ++i) {
    const float step = sorted[i] - sorted[i - 1];
    if (step > 0.0f) gap = std::min(gap, step);
  }
  return gap;
}

// Largest-magnitude element (the first one on ties).
float peak_of(const float* x, std::size_t n) {
  float peak = x[0];
  for (std::size_t i = 1; i < n; ++i) {
    if (std::fabs(x[i]) > std::fabs(peak)) peak = x[i];
  }
  return peak;
}

// Quants of x for the unit `unit` if q * unit reproduces every value exactly. A zero unit gives
// zeros whose sign is the product's, so q = 0 or -1 picks either sign of zero.
bool fits_unit(const float* x, std::size_t n, float unit, int q_min, int q_max, int* q) {
  for (std::size_t i = 0; i < n; ++i) {
    float qf = 0.0f;
    if (unit != 0.0f) {
      qf = std::nearbyint(x[i] / unit);
    } else if (!same_bits(0.0f * unit, x[i])) {
      qf = -1.0f;
    }
    if (!(qf >= static_cast<float>(q_min) && qf <= static_cast<float>(q_max))) return false;
    // Check with the integer the block will store: nearbyint can give -0, which an integer cannot.
    q[i] = static_cast<int>(qf);
    if (!same_bits(static_cast<float>(q[i]) * unit, x[i])) return false;
  }
  return true;
}

// Finds a unit with x[i] == q[i] * unit. The value of largest magnitude is peak = q_peak * unit, so
// trying unit = peak / k for every allowed k finds the block's own unit when one exists (the
// division is exact then). With unit_is_f16 the unit must also be an f16 value.
std::optional<float> find_symmetric_unit(const float* x, std::size_t n, int q_min, int q_max,
                                         bool unit_is_f16, int* q) {
  const float peak = peak_of(x, n);
  if (peak == 0.0f) {
    // Only zeros: a zero unit, with each zero's sign set by its quant's.
    if (fits_unit(x, n, 0.0f, q_min, q_max, q)) return 0.0f;
    return std::nullopt;
  }
  const double min_quant =
      std::fabs(static_cast<double>(peak)) / smallest_gap(x, n, true) * (1.0 - 1e-6);
  for (int k = q_max; k >= q_min; --k) {
    if (k == 0 || std::abs(k) < min_quant) continue;
    float unit = peak / static_cast<float>(k);
    if (unit_is_f16) unit = f16_to_f32(f32_to_f16(unit));
    if (!same_bits(unit * static_cast<float>(k), peak)) continue;
    if (fits_unit(x, n, unit, q_min, q_max, q)) return unit;
  }
  return std::nullopt;
}

// f16 bit patterns next to `bits` (itself first), skipping any that are not finite.
std::array<std::optional<std::uint16_t>, 3> f16_neighbours(std::uint16_t bits) {
  std::array<std::optional<std::uint16_t>, 3> result;
  const std::uint16_t candidates[3] = {bits, static_cast<std::uint16_t>(bits + 1),
                                       static_cast<std::uint16_t>(bits - 1)};
  for (int i = 0; i < 3; ++i) {
    if (std::isfinite(f16_to_f32(candidates[i]))) result[i] = candidates[i];
  }
  return result;
}

// Distance from |value| to the next float up.
double ulp_of(float value) {
  const float magnitude = std::fabs(value);
  return static_cast<double>(std::nextafter(magnitude, std::numeric_limits<float>::infinity())) -
         magnitude;
}

// Most f16 values of d tried per span: bounds the search when m dwarfs d.
constexpr int kMaxScaleSteps = 4096;

bool fits_affine(const float* x, std::size_t n, float d, float m, int q_max, int* q) {
  for (std::size_t i = 0; i < n; ++i) {
    const float qf = std::nearbyint((x[i] - m) / d);
    if (!(qf >= 0.0f && qf <= static_cast<float>(q_max))) return false;
    q[i] = static_cast<int>(qf);
    if (!same_bits(static_cast<float>(q[i]) * d + m, x[i])) return false;
  }
  return true;
}

// For a given d, a scale per sub-block such that every value is d * scale * q exactly. Scales are
// tried small magnitudes first and 0 last (it fits only a sub-block of zeros).
bool fit_q6_k_scales(const float* x, float d, Q6KQuants& result) {
  constexpr std::size_t kSub = 16;
  static constexpr auto kOrder = [] {
    std::array<int, 256> order{};
    std::size_t next = 0;
    for (int magnitude = 1; magnitude <= 127; ++magnitude) {
      order[next++] = magnitude;
      order[next++] = -magnitude;
    }
    order[next++] = -128;
    order[next] = 0;
    return order;
  }();
  for (std::size_t s = 0; s < 16; ++s) {
    bool fit = false;
    for (const int scale : kOrder) {
      const float unit = d * static_cast<float>(scale);
      if (fits_unit(x + s * kSub, kSub, unit, -32, 31, result.q.data() + s * kSub)) {
        result.scales[s] = static_cast<std::int8_t>(scale);
        fit = true;
        break;
      }
    }
    if (!fit) return false;
  }
  return true;
}

}  // namespace

bool same_bits(float a, float b) {
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

std::optional<SymmetricQuants> find_exact_symmetric(const float* x, std::size_t n, int q_min,
                                                    int q_max) {
  if (!all_finite(x, n)) return std::nullopt;
  SymmetricQuants result;
  const auto unit = find_symmetric_unit(x, n, q_min, q_max, true, result.q.data());
  if (!unit) return std::nullopt;
  result.d = f32_to_f16(*unit);
  return result;
}

std::optional<AffineQuants> find_exact_affine(const float* x, std::size_t n, int q_max) {
  if (!all_finite(x, n)) return std::nullopt;
  AffineQuants result;
  const auto [lo_it, hi_it] = std::minmax_element(x, x + n);
  const float lo = *lo_it;
  const float hi = *hi_it;
  if (lo == hi) {
    // A constant block: d = 0 and m = the value, when it is an f16 value (and not -0, which 0 + -0
    // would turn into +0).
    result.m = f32_to_f16(lo);
    if (!fits_affine(x, n, 1.0f, f16_to_f32(result.m), 0, result.q.data())) return std::nullopt;
    result.d = 0;
    return result;
  }
  const float span = hi - lo;
  if (!std::isfinite(span)) return std::nullopt;
  // Distinct values are at least one unit apart, less one f32 rounding of each: the slack of 1/2
  // keeps blocks whose minimum is large next to d.
  const double min_span_quants = span / smallest_gap(x, n, false) * 0.5;
  // The element nearest zero has the finest f32 grid, so it pins m down best.
  const std::size_t finest = static_cast<std::size_t>(
      std::min_element(x, x + n, [](float a, float b) { return std::fabs(a) < std::fabs(b); }) - x);
  // lo and hi are each rounded once, so span / quants is off from d by up to this much; when m is
  // large next to d that covers many f16 steps of d, all of which are tried.
  const double span_error = ulp_of(lo) + ulp_of(hi) + ulp_of(span);
  for (int quants = 1; quants <= q_max; ++quants) {
    if (quants < min_span_quants) continue;
    for (const float sign : {1.0f, -1.0f}) {
      const double d_estimate = sign * static_cast<double>(span) / quants;
      const double d_error = span_error / quants;
      const int center = f32_to_f16(static_cast<float>(d_estimate)) & 0x7FFF;
      const int first = f32_to_f16(static_cast<float>(d_estimate - sign * d_error)) & 0x7FFF;
      const int last = f32_to_f16(static_cast<float>(d_estimate + sign * d_error)) & 0x7FFF;
      // Same sign throughout, so f16 bit patterns order like magnitudes. Walk outwards from the
      // estimate, one step of slack past the error bound, at most kMaxScaleSteps / 2 each way.
      const int reach = std::min(std::max(center - first, last - center) + 1, kMaxScaleSteps / 2);
      for (int offset = 0; offset <= 2 * reach; ++offset) {
        const int magnitude_bits = center + (offset % 2 == 0 ? offset / 2 : -(offset + 1) / 2);
        if (magnitude_bits < 1 || magnitude_bits > 0x7BFF) continue;
        const auto d_bits = static_cast<std::uint16_t>(magnitude_bits | (sign < 0 ? 0x8000 : 0));
        const float d = f16_to_f32(d_bits);
        // The minimum's quant: the lowest (d > 0) or highest (d < 0) of a span of `quants`.
        const int anchor_lo = sign > 0 ? 0 : quants;
        const int anchor_hi = sign > 0 ? q_max - quants : q_max;
        for (int anchor = anchor_lo; anchor <= anchor_hi; ++anchor) {
          const double q_finest = anchor + std::nearbyint((x[finest] - lo) / d);
          const double m_estimate = static_cast<double>(x[finest]) - q_finest * d;
          for (const auto m_bits : f16_neighbours(f32_to_f16(static_cast<float>(m_estimate)))) {
            if (!m_bits) continue;
            if (fits_affine(x, n, d, f16_to_f32(*m_bits), q_max, result.q.data())) {
              result.d = d_bits;
              result.m = *m_bits;
              return result;
            }
          }
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<Q6KQuants> find_exact_q6_k(const float* x) {
  constexpr std::size_t kSub = 16;
  if (!all_finite(x, 256)) return std::nullopt;
  Q6KQuants result;
  // Each sub-block must be whole multiples of its own unit d * scale; this rejects ordinary data
  // before the search over d below.
  for (std::size_t s = 0; s < 16; ++s) {
    if (!find_symmetric_unit(x + s * kSub, kSub, -32, 31, false, result.q.data() + s * kSub)) {
      return std::nullopt;
    }
  }
  // Every value is d * (scale * q) with |scale * q| <= 4096 and all products exact in f32 (at most
  // 11 + 7 + 5 significant bits), so d = peak / k for some integer k. For each f16 d found that
  // way, each sub-block needs a scale dividing its multiples of d; try the largest d first.
  const float peak = peak_of(x, 256);
  const int max_k = peak == 0.0f ? 0 : 4096;
  for (int magnitude = peak == 0.0f ? 0 : 1; magnitude <= max_k; ++magnitude) {
    for (const int k : {magnitude, -magnitude}) {
      const float d = peak == 0.0f ? 0.0f : f16_to_f32(f32_to_f16(peak / static_cast<float>(k)));
      if (peak != 0.0f && !same_bits(d * static_cast<float>(k), peak)) continue;
      if (fit_q6_k_scales(x, d, result)) {
        result.d = f32_to_f16(d);
        return result;
      }
    }
  }
  return std::nullopt;
}

}  // namespace llama3::kernels::reference
