#include "model/rope_frequencies.hpp"

#include <cmath>
#include <numbers>

namespace llama3::model {

std::vector<float> llama3_rope_divisors(int head_dim, double theta,
                                        const Llama3RopeScaling& scaling) {
  const double low_freq_wavelength = scaling.original_context / scaling.low_freq_factor;
  const double high_freq_wavelength = scaling.original_context / scaling.high_freq_factor;
  std::vector<float> divisors(static_cast<std::size_t>(head_dim / 2));
  for (std::size_t i = 0; i < divisors.size(); ++i) {
    const double frequency = std::pow(theta, -2.0 * static_cast<double>(i) / head_dim);
    const double wavelength = 2.0 * std::numbers::pi / frequency;
    double divisor = 1.0;
    if (wavelength > low_freq_wavelength) {
      divisor = scaling.factor;
    } else if (wavelength >= high_freq_wavelength) {
      const double smooth = (scaling.original_context / wavelength - scaling.low_freq_factor) /
                            (scaling.high_freq_factor - scaling.low_freq_factor);
      divisor = 1.0 / ((1.0 - smooth) / scaling.factor + smooth);
    }
    divisors[i] = static_cast<float>(divisor);
  }
  return divisors;
}

std::vector<double> rope_inverse_frequencies(int head_dim, double theta,
                                             std::span<const float> divisors) {
  std::vector<double> inverse(static_cast<std::size_t>(head_dim / 2));
  for (std::size_t i = 0; i < inverse.size(); ++i) {
    inverse[i] = std::pow(theta, -2.0 * static_cast<double>(i) / head_dim);
    if (!divisors.empty()) inverse[i] /= divisors[i];
  }
  return inverse;
}

}  // namespace llama3::model
