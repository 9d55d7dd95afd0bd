#include "kernels/attention.hpp"

#include <algorithm>
#include <array>
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

constexpr std::size_t kMaxGroup = 16;  // query heads per pass; larger groups take several passes

// Key-major: every query of the group takes key j while its row is in L1.
template <typename Element>
void attend_portable(const float* queries, std::size_t n_queries, const Element* keys,
                     const Element* values, std::size_t stride, std::size_t n_keys,
                     std::size_t head_dim, float scale, float* out) {
  std::array<float, kMaxGroup> running_max, denominator;
  running_max.fill(-std::numeric_limits<float>::infinity());
  denominator.fill(0.0f);
  std::fill(out, out + n_queries * head_dim, 0.0f);
  for (std::size_t j = 0; j < n_keys; ++j) {
    const Element* key = keys + j * stride;
    const Element* value = values + j * stride;
    for (std::size_t r = 0; r < n_queries; ++r) {
      const float* query = queries + r * head_dim;
      float* acc = out + r * head_dim;
      float score = 0.0f;
      for (std::size_t d = 0; d < head_dim; ++d) score += query[d] * widen(key[d]);
      score *= scale;
      if (score > running_max[r]) {
        const float correction = std::exp(running_max[r] - score);
        denominator[r] *= correction;
        for (std::size_t d = 0; d < head_dim; ++d) acc[d] *= correction;
        running_max[r] = score;
      }
      const float weight = std::exp(score - running_max[r]);
      denominator[r] += weight;
      for (std::size_t d = 0; d < head_dim; ++d) acc[d] += weight * widen(value[d]);
    }
  }
  for (std::size_t r = 0; r < n_queries; ++r) {
    const float inverse = denominator[r] > 0.0f ? 1.0f / denominator[r] : 0.0f;
    for (std::size_t d = 0; d < head_dim; ++d) out[r * head_dim + d] *= inverse;
  }
}

template <typename Element, typename Avx512Kernel>
void attend_group(const float* queries, std::size_t n_queries, const Element* keys,
                  const Element* values, std::size_t stride, std::size_t n_keys,
                  std::size_t head_dim, float scale, float* out, Arch arch,
                  Avx512Kernel avx512_kernel) {
  if (arch == Arch::kAvx512 && head_dim % 16 == 0 && head_dim <= 256) {
    return avx512_kernel(queries, n_queries, keys, values, stride, n_keys, head_dim, scale, out);
  }
  for (std::size_t first = 0; first < n_queries; first += kMaxGroup) {
    attend_portable(queries + first * head_dim, std::min(kMaxGroup, n_queries - first), keys,
                    values, stride, n_keys, head_dim, scale, out + first * head_dim);
  }
}

}  // namespace

void attend_group_f16(const float* queries, std::size_t n_queries, const std::uint16_t* keys,
                      const std::uint16_t* values, std::size_t stride, std::size_t n_keys,
                      std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_group(queries, n_queries, keys, values, stride, n_keys, head_dim, scale, out, arch,
               avx512::attend_group_f16);
}

void attend_group_f32(const float* queries, std::size_t n_queries, const float* keys,
                      const float* values, std::size_t stride, std::size_t n_keys,
                      std::size_t head_dim, float scale, float* out, Arch arch) {
  attend_group(queries, n_queries, keys, values, stride, n_keys, head_dim, scale, out, arch,
               avx512::attend_group_f32);
}

}  // namespace llama3::kernels
