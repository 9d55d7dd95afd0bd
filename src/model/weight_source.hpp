// A source-agnostic view of a checkpoint's tensors: name (GGUF spelling) -> type, dims, bytes. GGUF
// files and Hugging Face safetensors folders both provide one, so the model binds its weights the
// same way from either, zero-copy: the data pointers point into the mapped files, which the source
// keeps alive.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/gguf.hpp"
#include "io/pytorch_checkpoint.hpp"
#include "io/safetensors.hpp"
#include "io/tensor_type.hpp"

namespace llama3::model {

struct TensorView {
  std::string name;       // GGUF spelling: "blk.3.attn_q.weight"
  std::string file_name;  // as the checkpoint spells it (the HF name), for messages
  io::TensorType type = io::TensorType::kF32;
  std::uint32_t n_dims = 0;
  std::array<std::uint64_t, 4> ne{1, 1, 1, 1};  // innermost first: ne[0] is the row length
  const std::byte* data = nullptr;
  std::uint64_t n_bytes = 0;
  // The file `data` points into; nullptr when the bytes were copied (realigned) instead.
  const io::MappedFile* file = nullptr;

  std::uint64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

class WeightSource {
 public:
  const std::string& origin() const { return origin_; }  // file or folder, for messages
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(std::string_view name) const;  // nullptr when absent
  // Gives a converted tensor's file pages back to the OS, so a converter that streams a mapped
  // model tensor by tensor keeps its resident set near one tensor. Copies are left alone.
  static void release_pages(const TensorView& view);

  // Every tensor of a GGUF file, as stored.
  static WeightSource from_gguf(const io::GgufFile& gguf);
  // The Llama tensors of a Hugging Face checkpoint under their GGUF names (model/hf_names.hpp);
  // F32, F16 and BF16 only (kUnsupported naming the tensor otherwise). Tensors the model does not
  // use (rotary_emb.inv_freq of old checkpoints) are left out. Dims are reversed from PyTorch
  // order; q/k rows stay in HF's permuted order (the model rotates them half-split).
  static WeightSource from_safetensors(const io::SafetensorsCheckpoint& checkpoint,
                                       std::string origin);
  // The Llama tensors of Meta's consolidated.NN.pth shards under their GGUF names
  // (model/meta_names.hpp); F32, F16 and BF16 only. One shard is used in place; several are joined
  // along the dims their model-parallel layers split (meta_shard_dim) into memory owned here, and
  // their 1-D norms must agree. `dim` (params.json) tells a Llama 2 embedding split on dim 1 from
  // Llama 3's split on the vocabulary. q/k rows are in Meta's order (adjacent-pair RoPE).
  static WeightSource from_pytorch(const std::vector<io::PytorchCheckpoint>& shards,
                                   std::uint64_t dim, std::string origin);

 private:
  void add(TensorView view);
  void add_safetensors(const io::SafetensorsTensor& tensor, const io::MappedFile& file);
  // A tensor whose dims are in PyTorch order (outermost first); copied when misaligned.
  void add_pytorch_ordered(const std::string& name, const std::string& file_name,
                           io::TensorType type, std::span<const std::uint64_t> shape,
                           const std::byte* data, std::uint64_t n_bytes,
                           const io::MappedFile* file);
  void add_meta_tensor(const std::string& name, const std::vector<const io::PytorchTensor*>& parts,
                       std::uint64_t dim, const io::MappedFile* file);
  std::string origin_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
  // Tensors whose bytes were not aligned to their element size in the file, or that were joined
  // from shards: copied once, owned here.
  std::vector<std::shared_ptr<std::vector<std::uint64_t>>> owned_;
};

}  // namespace llama3::model
