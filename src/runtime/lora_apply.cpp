#include "runtime/lora_apply.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/matmul.hpp"
#include "kernels/vector_ops.hpp"
#include "llama3/error.hpp"

namespace llama3::runtime {
namespace {

// B·(A·x) is split across threads only in slices of at least this many multiply-adds: one
// token's update of a 1B model's q/k/v (3072 outputs × rank 16) is done sooner by one thread.
constexpr std::size_t kMinSliceWork = 65536;

}  // namespace

std::shared_ptr<const LoraStack> make_lora_stack(const ModelConfig& config,
                                                 std::span<const ActiveLora> adapters) {
  auto stack = std::make_shared<LoraStack>();
  for (const auto& active : adapters) {
    const auto& impl = detail::LoraAccess::impl(active.adapter);
    if (!std::isfinite(active.scale)) {
      throw Error(ErrorCode::kInvalidArgument,
                  impl->name() + ": scale " + std::to_string(active.scale) + " is not finite");
    }
    impl->check_fits(config);
    if (active.scale == 0.0f) continue;
    stack->entries.push_back({impl, active.scale * impl->scale()});
  }
  if (stack->entries.empty()) return nullptr;
  return stack;
}

bool LoraApplier::prepare(std::span<const ForwardRow> rows, const LoraOfSequence& lora_of) {
  groups_.clear();
  for (std::size_t t = 0; t < rows.size(); ++t) {
    const LoraStack* stack = lora_of(rows[t].sequence);
    if (!stack) continue;
    auto group = std::find_if(groups_.begin(), groups_.end(),
                              [&](const Group& g) { return g.stack == stack; });
    if (group == groups_.end()) group = groups_.insert(groups_.end(), Group{stack, {}});
    group->rows.push_back(static_cast<int>(t));
  }
  one_group_of_all_ = groups_.size() == 1 && groups_.front().rows.size() == rows.size();
  return !groups_.empty();
}

void LoraApplier::add(int layer, std::span<const model::LoraTarget> targets, const float* x,
                      std::size_t in, std::span<float* const> ys, kernels::ThreadPool& pool) {
  if (reduced_.size() < targets.size()) reduced_.resize(targets.size());
  for (const Group& group : groups_) {
    const std::size_t m = group.rows.size();
    const float* group_x = x;  // [m, in]
    if (!one_group_of_all_) {
      gathered_.resize(m * in);
      for (std::size_t t = 0; t < m; ++t) {
        std::memcpy(gathered_.data() + t * in, x + static_cast<std::size_t>(group.rows[t]) * in,
                    in * sizeof(float));
      }
      group_x = gathered_.data();
    }
    for (const auto& entry : group.stack->entries) {
      // The targets this adapter changes in this layer, with their A·x buffers.
      const detail::LoraPair* pairs[model::kLoraTargetCount];
      const kernels::WeightMatrix* downs[model::kLoraTargetCount];
      float* reduced[model::kLoraTargetCount];
      std::size_t which[model::kLoraTargetCount];
      std::size_t n_pairs = 0, total_out = 0;
      const auto rank = static_cast<std::size_t>(entry.adapter->rank());
      for (std::size_t i = 0; i < targets.size(); ++i) {
        const detail::LoraPair* pair = entry.adapter->pair(layer, targets[i]);
        if (!pair) continue;
        reduced_[i].resize(m * rank);
        pairs[n_pairs] = pair;
        downs[n_pairs] = &pair->a_matrix;
        reduced[n_pairs] = reduced_[i].data();
        which[n_pairs] = i;
        total_out += pair->out;
        ++n_pairs;
      }
      if (n_pairs == 0) continue;
      kernels::matmul_same_input(std::span(downs, n_pairs), group_x, m, std::span(reduced, n_pairs),
                                 pool);
      for (std::size_t p = 0; p < n_pairs; ++p) {
        for (std::size_t v = 0; v < m * rank; ++v) reduced[p][v] *= entry.scale;
      }
      // The outputs of all targets side by side, split across threads.
      const std::size_t grain = std::max<std::size_t>(64, kMinSliceWork / (m * rank));
      pool.parallel_for(total_out, grain, [&](std::size_t begin, std::size_t end, int) {
        std::size_t offset = 0;
        for (std::size_t p = 0; p < n_pairs; ++p) {
          const detail::LoraPair& pair = *pairs[p];
          const std::size_t lo = std::max(begin, offset), hi = std::min(end, offset + pair.out);
          if (lo < hi) {
            const std::size_t o0 = lo - offset, count = hi - lo;
            for (std::size_t t = 0; t < m; ++t) {
              float* y = ys[which[p]] + static_cast<std::size_t>(group.rows[t]) * pair.out + o0;
              const float* ax = reduced[p] + t * rank;
              for (std::size_t k = 0; k < rank; ++k) {
                kernels::axpy(ax[k], pair.b_by_rank.data() + k * pair.out + o0, y, count);
              }
            }
          }
          offset += pair.out;
        }
      });
    }
  }
}

}  // namespace llama3::runtime
