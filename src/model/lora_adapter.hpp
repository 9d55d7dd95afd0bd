// The inside of a LoraAdapter: per layer and target the A and B matrices in f32, checked against
// the model they were loaded for, with B's q/k rows already in that model's order
// (ModelConfig::rope_layout), and packed for the matmul kernels.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/matmul.hpp"
#include "llama3/lora.hpp"
#include "model/lora_names.hpp"

namespace llama3::detail {

// One target matrix's update W += scale · B · A.
struct LoraPair {
  std::vector<float> a;            // [rank, in]
  std::vector<float> b_by_rank;    // B transposed: [rank, out], so B·(A·x) is `rank` axpys
  kernels::WeightMatrix a_matrix;  // over `a`, with the kernels' packed copy
  std::unique_ptr<kernels::PackedMatrix> a_packed;
  std::size_t in = 0, out = 0;

  float b(std::size_t row, std::size_t k) const { return b_by_rank[k * out + row]; }
};

class LoraAdapterImpl {
 public:
  LoraAdapterImpl(const ModelConfig& config, const std::filesystem::path& path);

  const std::string& name() const { return name_; }
  int rank() const { return rank_; }
  float alpha() const { return alpha_; }
  float scale() const { return scale_; }
  // The adapter of `target` in `layer`, or nullptr when it has none there.
  const LoraPair* pair(int layer, model::LoraTarget target) const {
    const auto& slot = layers_[static_cast<std::size_t>(layer)][static_cast<std::size_t>(target)];
    return slot ? &*slot : nullptr;
  }
  bool has_target(model::LoraTarget target) const {
    return has_target_[static_cast<std::size_t>(target)];
  }
  // kInvalidArgument unless `config` has the shape and q/k order the adapter was loaded for.
  void check_fits(const ModelConfig& config) const;

 private:
  std::string name_;
  int rank_ = 0;
  float alpha_ = 0.0f;
  float scale_ = 0.0f;
  ModelConfig config_;  // the model it was loaded for
  std::vector<std::array<std::optional<LoraPair>, model::kLoraTargetCount>> layers_;
  std::array<bool, model::kLoraTargetCount> has_target_{};
};

struct LoraAccess {
  static const std::shared_ptr<const LoraAdapterImpl>& impl(const LoraAdapter& adapter) {
    return adapter.impl_;
  }
};

// [out, in] of `target` in a model of `config`.
std::pair<std::size_t, std::size_t> lora_target_shape(const ModelConfig& config,
                                                      model::LoraTarget target);

}  // namespace llama3::detail
