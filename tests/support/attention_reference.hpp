// The attention the kernels are tested against: softmax(scale * q . k_j) . v_j in double, two
// passes (all scores, then the weighted values), over key and value rows `stride` floats apart.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace llama3::test {

inline std::vector<double> exact_attention(const float* query, const std::vector<float>& keys,
                                           const std::vector<float>& values, std::size_t stride,
                                           std::size_t n_keys, std::size_t head_dim, double scale) {
  std::vector<double> scores(n_keys), result(head_dim, 0.0);
  double max_score = -1e300, total = 0.0;
  for (std::size_t j = 0; j < n_keys; ++j) {
    double s = 0.0;
    for (std::size_t d = 0; d < head_dim; ++d) s += double{query[d]} * keys[j * stride + d];
    scores[j] = s * scale;
    max_score = std::max(max_score, scores[j]);
  }
  for (std::size_t j = 0; j < n_keys; ++j) total += std::exp(scores[j] - max_score);
  for (std::size_t j = 0; j < n_keys; ++j) {
    const double p = std::exp(scores[j] - max_score) / total;
    for (std::size_t d = 0; d < head_dim; ++d) result[d] += p * values[j * stride + d];
  }
  return result;
}

}  // namespace llama3::test
