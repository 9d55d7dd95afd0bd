#include "kernels/attention.hpp"

#include <cmath>
#include <limits>

#include "kernels/half_float.hpp"

namespace llama3::kernels {
namespace {

inline float widen(float v) {
  return v;
}
inline float widen(std::uint16_t v) {
  return f16_to_f32(v);
}

template <typename Element>
void attend_portable(const float* query, const Element* keys, const Element* values,
                     std::size_t stride, std::size_t n_keys, std::size_t head_dim, float scale,
                     float* out) {
  float running_max = -std::numeric_limits<float>::infinity();
  float denominator = 0.0f;
  for (std::size_t d = 0; d < head_dim; ++d) out[d] = 0.0f;
  for (std::size_t j = 0; j < n_keys; ++j) {
    const Element* key = keys + j * stride;
    float score = 0.0f;
    for (std::size_t d = 0; d < head_dim; ++d) score += query[d] * widen(key[d]);
    score *= scale;
    if (score > running_max) {
      const float correction = std::exp(running_max - score);
      denominator *= correction;
      for (std::size_t d = 0; d < head_dim; ++d) out[d] *= correction;
      running_max = score;
    }
    const float weight = std::exp(score - running_max);
    denominator += weight;
    const Element* value = values + j * stride;
    for (std::size_t d = 0; d < head_dim; ++d) out[d] += weight * widen(value[d]);
  }
  const float inverse = denominator > 0.0f ? 1.0f / denominator : 0.0f;
  for (std::size_t d = 0; d < head_dim; ++d) out[d] *= inverse;
}

}  // namespace

void attend_head_f16(const float* query, const std::uint16_t* keys, const std::uint16_t* values,
                     std::size_t stride, std::size_t n_keys, std::size_t head_dim, float scale,
                     float* out, Arch arch) {
  if (arch == Arch::kAvx512 && head_dim % 16 == 0 && head_dim <= 256) {
    return avx512::attend_head_f16(query, keys, values, stride, n_keys, head_dim, scale, out);
  }
  if (arch == Arch::kAvx2 && head_dim % 8 == 0 && head_dim <= 256) {
    return avx2::attend_head_f16(query, keys, values, stride, n_keys, head_dim, scale, out);
  }
  if (arch == Arch::kSse4 && head_dim % 4 == 0 && head_dim <= 256) {
    return sse4::attend_head_f16(query, keys, values, stride, n_keys, head_dim, scale, out);
  }
  attend_portable(query, keys, values, stride, n_keys, head_dim, scale, out);
}

void attend_head_f32(const float* query, const float* keys, const float* values, std::size_t stride,
                     std::size_t n_keys, std::size_t head_dim, float scale, float* out, Arch) {
  attend_portable(query, keys, values, stride, n_keys, head_dim, scale, out);
}

}  // namespace llama3::kernels
