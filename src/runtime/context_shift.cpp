#include "runtime/context_shift.hpp"

#include <cmath>
#include <vector>

#include "kernels/vector_ops.hpp"

namespace llama3::runtime {

void discard_positions(KvCache& cache, const detail::ModelImpl& model, int n_keep, int n_discard,
                       int n_moved) {
  cache.move_positions(n_keep + n_discard, n_keep, n_moved);
  // RoPE rotates a key by position * frequency, so a key that moves back by n_discard positions is
  // rotated once more by -n_discard * frequency.
  const auto& config = model.config();
  const auto& inverse = model.rope_inverse_frequencies();
  const auto half = static_cast<std::size_t>(config.head_dim / 2);
  std::vector<float> cos(half);  // [head_dim / 2]
  std::vector<float> sin(half);  // [head_dim / 2]
  for (std::size_t i = 0; i < half; ++i) {
    const double angle = -static_cast<double>(n_discard) * inverse[i];
    cos[i] = static_cast<float>(std::cos(angle));
    sin[i] = static_cast<float>(std::sin(angle));
  }
  const auto rope = config.rope_layout == RopeLayout::kHalfSplit ? kernels::rope_half_split
                                                                 : kernels::rope_adjacent_pairs;
  for (int layer = 0; layer < cache.n_layers(); ++layer) {
    cache.rotate_keys(layer, n_keep, n_moved, rope, cos.data(), sin.data());
  }
}

}  // namespace llama3::runtime
