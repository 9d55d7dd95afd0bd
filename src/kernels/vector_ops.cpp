#include "kernels/vector_ops.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/kernel_table.hpp"

namespace llama3::kernels {

float dot_f32(const float* a, const float* b, std::size_t n) {
  constexpr std::size_t kLanes = 16;
  float partial[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::size_t l = 0; l < kLanes; ++l) partial[l] += a[i + l] * b[i + l];
  }
  float sum = 0.0f;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (float p : partial) sum += p;
  return sum;
}

void rms_norm(const float* x, const float* weight, float* out, std::size_t n, float eps) {
  double sum_squares = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum_squares += static_cast<double>(x[i]) * x[i];
  const auto scale =
      static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(n) + eps));
  for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void softmax(float* x, std::size_t n) {
  if (n == 0) return;
  const float max_value = *std::max_element(x, x + n);
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += x[i];
  }
  const auto inverse = static_cast<float>(1.0 / sum);
  for (std::size_t i = 0; i < n; ++i) x[i] *= inverse;
}

void silu_mul(float* gate, const float* up, std::size_t n) {
  silu_mul(gate, up, n, active_arch());
}

void silu_mul(float* gate, const float* up, std::size_t n, Arch arch) {
  kernel_table(arch).silu_mul(gate, up, n);
}

void fill(float* x, std::size_t n, float value) {
  fill(x, n, value, active_arch());
}

void fill(float* x, std::size_t n, float value, Arch arch) {
  kernel_table(arch).fill(x, n, value);
}

void portable::fill(float* x, std::size_t n, float value) {
  std::fill(x, x + n, value);
}

void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words) {
  mask_row(row, n, allowed, n_words, active_arch());
}

void mask_row(float* row, std::size_t n, const std::uint64_t* allowed, std::size_t n_words,
              Arch arch) {
  kernel_table(arch).mask_row(row, n, allowed, n_words);
}

void portable::mask_row(float* row, std::size_t n, const std::uint64_t* allowed,
                        std::size_t n_words) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t w = i / 64;
    const bool is_allowed = w < n_words && ((allowed[w] >> (i % 64)) & 1U) != 0;
    if (!is_allowed) row[i] = -INFINITY;
  }
}

void portable::silu_mul(float* gate, const float* up, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void rope_adjacent_pairs(float* x, std::size_t n_heads, std::size_t head_dim, const float* cos,
                         const float* sin) {
  for (std::size_t h = 0; h < n_heads; ++h) {
    float* head = x + h * head_dim;
    for (std::size_t i = 0; i < head_dim / 2; ++i) {
      const float x0 = head[2 * i];
      const float x1 = head[2 * i + 1];
      head[2 * i] = x0 * cos[i] - x1 * sin[i];
      head[2 * i + 1] = x0 * sin[i] + x1 * cos[i];
    }
  }
}

void axpy(float a, const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void rope_half_split(float* x, std::size_t n_heads, std::size_t head_dim, const float* cos,
                     const float* sin) {
  const std::size_t half = head_dim / 2;
  for (std::size_t h = 0; h < n_heads; ++h) {
    float* head = x + h * head_dim;
    for (std::size_t i = 0; i < half; ++i) {
      const float x0 = head[i];
      const float x1 = head[i + half];
      head[i] = x0 * cos[i] - x1 * sin[i];
      head[i + half] = x0 * sin[i] + x1 * cos[i];
    }
  }
}

}  // namespace llama3::kernels
