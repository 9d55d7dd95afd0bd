// The files of a LoRA adapter (docs/lora.md "Files accepted"): where its tensors and its
// adapter_config.json are, and the tensors themselves, whichever container holds them:
//   - safetensors: PEFT's adapter_model.safetensors, torchtune's PEFT export;
//   - a torch.save zip: torchtune's own adapter_model.pt (adapter_N.pt before torchtune 0.5) and
//     PEFT's adapter_model.bin, read by our pickle reader (io/pickle_reader.hpp: nothing a file
//     names is imported or called).
// Tensors are views into the memory-mapped file, which the LoraTensorFile keeps alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/mapped_file.hpp"
#include "io/tensor_type.hpp"

namespace llama3::model {

struct LoraAdapterFiles {
  std::filesystem::path tensors;
  std::filesystem::path config;  // adapter_config.json beside the tensors
};

// For a folder: adapter_model.safetensors, else adapter_model.pt, else adapter_model.bin, else
// the one adapter_N.pt it holds. For a file: that file. Throws kIo when there is none,
// kInvalidArgument when a folder holds several epochs' adapter_N.pt and nothing else.
LoraAdapterFiles find_lora_adapter_files(const std::filesystem::path& path);

struct LoraFileTensor {
  std::string name;
  io::TensorType type = io::TensorType::kF32;  // F32, F16 or BF16
  std::vector<std::uint64_t> shape;            // PyTorch order: outermost first
  const std::byte* data = nullptr;             // inside the mapped file, maybe unaligned
  std::size_t n_bytes = 0;
};

class LoraTensorFile {
 public:
  // A zip (torch.save) or a safetensors file, told apart by their first bytes. Throws kIo,
  // kBadFormat (the container's own checks, the pickle allow-list) or kUnsupported (dtypes other
  // than F32/F16/BF16, strided tensors, the pre-1.6 torch.save format), naming file and tensor.
  static LoraTensorFile open(const std::filesystem::path& path);

  const std::string& name() const { return file_->name(); }
  const std::vector<LoraFileTensor>& tensors() const { return tensors_; }  // in file order

 private:
  std::shared_ptr<const io::MappedFile> file_;
  std::vector<LoraFileTensor> tensors_;
};

}  // namespace llama3::model
