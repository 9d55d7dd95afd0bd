// LoRA adapters: low-rank updates of a model's linear layers, as PEFT and torchtune write them.
// A target matrix W [out, in] gets W·x + scale·B·(A·x), with A [rank, in] and B [out, rank] from
// the adapter and scale = user scale × lora_alpha / rank (lora_alpha / sqrt(rank) with rsLoRA).
// Run-time adapters leave the model's weights untouched: one Model can serve several fine-tunes,
// per session and per engine request. `merge_lora` (convert.hpp) writes the merged model instead.
//
// An adapter is loaded once for a model and shared: it is immutable after load, and many sessions
// and threads may use it at once. docs/lora.md lists the accepted files and names.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "llama3/model.hpp"

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

// Internal types stay hidden in the library (they are named here only as opaque pointers).
#pragma GCC visibility pop
namespace detail {
class LoraAdapterImpl;
struct LoraAccess;
}  // namespace detail
#pragma GCC visibility push(default)

class LoraAdapter {
 public:
  // `path` is an adapter folder (adapter_config.json + adapter_model.safetensors, PEFT's and
  // torchtune's export; or torchtune's own adapter_model.pt, or PEFT's pickled adapter_model.bin,
  // both read by a pickle reader that runs no code), or the tensor file itself with its
  // adapter_config.json beside it. Tensor names may be PEFT's
  // (base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight) or torchtune's
  // (layers.N.attn.q_proj.lora_a.weight). A and B are checked against `model`'s shapes and kept
  // in f32, with q/k rows put in the model's order. Throws llama3::Error: kIo (unreadable),
  // kBadFormat naming the tensor or key (shape or rank mismatch, a missing A or B, NaN/Inf, an
  // unknown target), kUnsupported (DoRA, per-module ranks, bias or embedding adapters).
  static LoraAdapter load(const Model& model, const std::filesystem::path& path);

  const std::string& name() const;  // the path it came from, for messages
  int rank() const;
  float alpha() const;
  // lora_alpha / rank, or lora_alpha / sqrt(rank) with use_rslora: what a user scale of 1 applies.
  float scale() const;
  // The target modules present, in PEFT spelling (q_proj, k_proj, v_proj, o_proj, gate_proj,
  // up_proj, down_proj).
  std::vector<std::string> targets() const;

 private:
  friend struct detail::LoraAccess;
  explicit LoraAdapter(std::shared_ptr<const detail::LoraAdapterImpl> impl);
  std::shared_ptr<const detail::LoraAdapterImpl> impl_;
};

// An adapter in use, with the user's scale (1: as trained; 0: off, bit-identical to the base).
struct ActiveLora {
  LoraAdapter adapter;
  float scale = 1.0f;
};

// An adapter named by its path, for what loads it later (merge_lora, a server's options).
struct LoraFile {
  std::filesystem::path path;
  float scale = 1.0f;
};

// Loads every file for `model` (LoraAdapter::load) with its scale.
std::vector<ActiveLora> load_adapters(const Model& model, const std::vector<LoraFile>& files);

}  // namespace llama3

#pragma GCC visibility pop
