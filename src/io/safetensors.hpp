// Hugging Face safetensors files (docs/facts.md §5): a validating reader over a memory-mapped file,
// the sharded-checkpoint index (model.safetensors.index.json), and a streaming writer.
//
// Layout: u64 little-endian header length N, N bytes of JSON, then the byte buffer. The reader is
// as strict as the reference implementation (huggingface/safetensors tensor.rs): the header must
// fit the file and 100 MB, be a JSON object without duplicate names, and the tensors must cover the
// buffer exactly (sorted by offset: no gap, no overlap, nothing past the end), each with
// end - begin == prod(shape) * dtype size computed without overflow. Every failure is
// llama3::Error kBadFormat "<file>: <tensor>: <what>".
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/mapped_file.hpp"

namespace llama3::io {

enum class SafetensorsDtype : std::uint8_t {
  kBool,
  kU8,
  kI8,
  kF8_E5M2,
  kF8_E4M3,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64,
};

// "BF16" -> kBF16; nothing for a name the format does not define.
std::optional<SafetensorsDtype> safetensors_dtype_from_name(std::string_view name);
std::string_view safetensors_dtype_name(SafetensorsDtype dtype);
std::size_t safetensors_dtype_size(SafetensorsDtype dtype);  // bytes per element

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<std::uint64_t> shape;  // PyTorch order: outermost first, row length last
  std::uint64_t begin = 0;           // data_offsets, relative to the byte buffer
  std::uint64_t end = 0;
  const std::byte* data = nullptr;  // points into the mapped file; end - begin bytes

  std::uint64_t n_bytes() const { return end - begin; }
};

class SafetensorsFile {
 public:
  // Throws kIo (cannot open) or kBadFormat (the message names the file and tensor).
  static SafetensorsFile open(const std::filesystem::path& path, const MapOptions& options = {});
  // Parses bytes already in memory (tests).
  static SafetensorsFile parse(std::shared_ptr<const MappedFile> file);

  const std::string& name() const { return file_->name(); }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // in header order
  const SafetensorsTensor* find(std::string_view name) const;                 // nullptr when absent
  // The "__metadata__" strings (HF writes {"format": "pt"}).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::shared_ptr<const MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  std::vector<SafetensorsTensor> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A whole checkpoint folder: `model.safetensors`, or the shards named by
// `model.safetensors.index.json` (weight_map: tensor -> shard file). Every tensor the index names
// must be in its shard, and a shard must hold no tensor the index does not give to it.
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open(const std::filesystem::path& folder,
                                    const MapOptions& options = {});

  const std::vector<SafetensorsFile>& files() const { return files_; }
  const SafetensorsTensor* find(std::string_view name) const;  // nullptr when absent
  // Every tensor of every shard, in shard order.
  std::vector<const SafetensorsTensor*> tensors() const;

 private:
  std::vector<SafetensorsFile> files_;
  std::unordered_map<std::string, const SafetensorsTensor*> index_;
};

// Writes one safetensors file. Tensors are declared first; the data is then streamed in declaration
// order (the header needs every size up front), so a writer never holds more than one tensor.
class SafetensorsWriter {
 public:
  // Throws kInvalidArgument for a duplicate or empty name.
  void add_tensor(std::string name, SafetensorsDtype dtype, std::vector<std::uint64_t> shape);
  void set_metadata(std::string key, std::string value);

  // Calls `write_data(i, out)` once per tensor, in order; it must append exactly that tensor's byte
  // size (kInternal otherwise). Written to `path` + ".tmp" and renamed. Throws kIo on failure.
  void write(
      const std::filesystem::path& path,
      const std::function<void(std::size_t index, std::vector<std::byte>& out)>& write_data) const;

 private:
  struct Pending {
    std::string name;
    SafetensorsDtype dtype;
    std::vector<std::uint64_t> shape;
    std::uint64_t n_bytes;
  };
  std::vector<Pending> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace llama3::io
