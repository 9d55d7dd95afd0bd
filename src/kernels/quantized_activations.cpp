#include "kernels/quantized_activations.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/kernel_table.hpp"

namespace llama3::kernels {

void prepare_activations(std::size_t n_tokens, std::size_t cols, const IntBlockFormat& format,
                         QuantizedActivations& out) {
  const std::size_t nb = cols / format.block_values;
  out.n_tokens = n_tokens;
  out.cols = cols;
  out.block_values = format.block_values;
  out.qs.resize(n_tokens * cols);
  out.block_scales.resize(n_tokens * nb);
  out.block_init.resize(n_tokens * nb);
  out.block_sums.resize(n_tokens * nb);
  out.tile_tokens = 0;  // any earlier tiles are of other values
}

void portable::quantize_activation_row(const float* row, std::size_t cols, std::size_t B,
                                       int zero_point, std::int8_t* q, float* scales,
                                       std::int32_t* init, float* sums) {
  const std::size_t nb = cols / B;
  for (std::size_t b32 = 0; b32 < cols / 32; ++b32) {
    float amax = 0.0f;
    for (std::size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(row[b32 * 32 + j]));
    const float d = amax / 127.0f;
    const float inverse = d > 0.0f ? 1.0f / d : 0.0f;
    for (std::size_t j = 0; j < 32; ++j) {
      q[b32 * 32 + j] = static_cast<std::int8_t>(std::nearbyint(row[b32 * 32 + j] * inverse));
    }
    for (std::size_t b = b32 * 32 / B; b < (b32 + 1) * 32 / B; ++b) scales[b] = d;
  }
  for (std::size_t b = 0; b < nb; ++b) {
    std::int32_t sum = 0;
    for (std::size_t j = 0; j < B; ++j) sum += q[b * B + j];
    init[b] = -zero_point * sum;
    sums[b] = scales[b] * static_cast<float>(sum);
  }
}

void quantize_activation_tokens(const float* x, std::size_t token_begin, std::size_t token_end,
                                const IntBlockFormat& format, QuantizedActivations& out,
                                Arch arch) {
  const QuantizeRowKernel quantize_row = kernel_table(arch).quantize_activation_row;
  const std::size_t cols = out.cols;
  const std::size_t nb = cols / format.block_values;
  for (std::size_t t = token_begin; t < token_end; ++t) {
    quantize_row(x + t * cols, cols, format.block_values, format.zero_point,
                 out.qs.data() + t * cols, out.block_scales.data() + t * nb,
                 out.block_init.data() + t * nb, out.block_sums.data() + t * nb);
  }
}

void quantize_activations(const float* x, std::size_t n_tokens, std::size_t cols,
                          const IntBlockFormat& format, QuantizedActivations& out) {
  quantize_activations(x, n_tokens, cols, format, out, active_arch());
}

void quantize_activations(const float* x, std::size_t n_tokens, std::size_t cols,
                          const IntBlockFormat& format, QuantizedActivations& out, Arch arch) {
  prepare_activations(n_tokens, cols, format, out);
  quantize_activation_tokens(x, 0, n_tokens, format, out, arch);
}

void dequantize_activations(const QuantizedActivations& activations, float* out) {
  const std::size_t B = activations.block_values;
  const std::size_t nb = activations.cols / B;
  for (std::size_t t = 0; t < activations.n_tokens; ++t) {
    for (std::size_t i = 0; i < activations.cols; ++i) {
      out[t * activations.cols + i] =
          activations.qs[t * activations.cols + i] * activations.block_scales[t * nb + i / B];
    }
  }
}

}  // namespace llama3::kernels
