// LoRA adapters at run time: after a target's matmul y = W·x, the forward pass adds
// Σ scale · B·(A·x) over the adapters of each row's sequence (llama3/lora.hpp). Rows of one batch
// may belong to sequences with different adapters: they are grouped by adapter set, and each group
// runs two thin products (A·x over the group's rows with the matmul kernels, then B as `rank`
// axpys per row). Rows without adapters cost nothing and stay bit-identical to the base model.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "kernels/thread_pool.hpp"
#include "llama3/lora.hpp"
#include "model/lora_adapter.hpp"
#include "runtime/kv_memory.hpp"

namespace llama3::runtime {

// The adapters one sequence runs with, each with its effective scale (the user's times the
// adapter's alpha / rank). Never empty and never a zero scale: "no adapters" is a null pointer.
struct LoraStack {
  struct Entry {
    std::shared_ptr<const detail::LoraAdapterImpl> adapter;
    float scale = 0.0f;
  };
  std::vector<Entry> entries;
};

// nullptr when no adapter has a nonzero scale. kInvalidArgument for an adapter loaded for another
// model shape, or a scale that is not finite.
std::shared_ptr<const LoraStack> make_lora_stack(const ModelConfig& config,
                                                 std::span<const ActiveLora> adapters);

// The stack a row's sequence uses (nullptr: none).
using LoraOfSequence = std::function<const LoraStack*(int sequence)>;

class LoraApplier {
 public:
  // Groups the chunk's rows by stack; false when no row has adapters.
  bool prepare(std::span<const ForwardRow> rows, const LoraOfSequence& lora_of);

  // ys[i] [n_rows, out_i] += the prepared rows' adapters of targets[i] in `layer`, all of which
  // read x [n_rows, in].
  void add(int layer, std::span<const model::LoraTarget> targets, const float* x, std::size_t in,
           std::span<float* const> ys, kernels::ThreadPool& pool);

 private:
  struct Group {
    const LoraStack* stack = nullptr;
    std::vector<int> rows;  // indexes into the chunk
  };
  std::vector<Group> groups_;
  bool one_group_of_all_ = false;  // every row in one group, in order: x needs no gathering
  std::vector<float> gathered_;    // [group rows, in]
  std::vector<std::vector<float>> reduced_;  // per target: A·x [group rows, rank]
};

}  // namespace llama3::runtime
