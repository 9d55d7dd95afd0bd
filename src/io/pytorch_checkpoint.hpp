// A torch.save checkpoint file (zip of data.pkl + data/<key> storages; docs/meta-checkpoints.md):
// the state dict's tensors, each resolved to its bytes inside the memory-mapped archive, never
// copied. Every tensor must be contiguous (row-major strides) and lie inside its storage, which
// must lie inside its zip entry; failures are llama3::Error kBadFormat naming the file and tensor.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/mapped_file.hpp"
#include "io/pickle_reader.hpp"
#include "io/zip_archive.hpp"

namespace llama3::io {

struct PytorchTensor {
  std::string name;
  TorchDtype dtype = TorchDtype::kF32;
  std::vector<std::uint64_t> shape;  // outermost first
  const std::byte* data = nullptr;   // inside the mapped file
  std::uint64_t n_bytes = 0;
};

class PytorchCheckpoint {
 public:
  // Throws kIo (cannot open), kBadFormat, kUnsupported (compressed entries, strided tensors).
  static PytorchCheckpoint open(const std::filesystem::path& path, const MapOptions& options = {});
  static PytorchCheckpoint parse(std::shared_ptr<const MappedFile> file);

  const std::string& name() const { return archive_.name(); }
  const std::shared_ptr<const MappedFile>& file() const { return archive_.file(); }
  const std::vector<PytorchTensor>& tensors() const { return tensors_; }  // in state dict order
  const PytorchTensor* find(std::string_view name) const;                 // nullptr when absent

 private:
  ZipArchive archive_;
  std::vector<PytorchTensor> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
};

// Writes a state dict as torch.save does (pickle protocol 2, stored zip entries, data aligned to
// 64 bytes; zip64 records when `force_zip64` or the sizes need them), for tests and fuzz seeds.
// Each tensor gets its own storage. Throws kIo on failure.
struct PytorchTensorToWrite {
  std::string name;
  TorchDtype dtype = TorchDtype::kF32;
  std::vector<std::uint64_t> shape;
  std::vector<std::byte> bytes;  // row-major
};
std::vector<std::byte> pytorch_checkpoint_bytes(const std::vector<PytorchTensorToWrite>& tensors,
                                                const std::string& archive_name = "archive",
                                                bool force_zip64 = false);

}  // namespace llama3::io
