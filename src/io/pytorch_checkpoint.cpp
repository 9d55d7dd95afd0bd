#include "io/pytorch_checkpoint.hpp"

#include <limits>

#include "llama3/error.hpp"

namespace llama3::io {
namespace {

constexpr std::string_view kPickleName = "/data.pkl";

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw Error(ErrorCode::kBadFormat, origin + ": " + what);
}

// torch.save puts every entry under one folder named after the file ("archive" for buffers).
std::string archive_prefix(const ZipArchive& archive) {
  std::string prefix;
  for (const auto& entry : archive.entries()) {
    const std::string& name = entry.name;
    if (name.size() <= kPickleName.size() || !name.ends_with(kPickleName)) continue;
    const std::string folder = name.substr(0, name.size() - kPickleName.size());
    if (folder.find('/') != std::string::npos) continue;
    if (!prefix.empty()) bad(archive.name(), "two pickles (" + prefix + "/data.pkl, " + name + ")");
    prefix = folder;
  }
  if (prefix.empty())
    bad(archive.name(), "no <folder>/data.pkl entry: not a torch.save checkpoint");
  return prefix;
}

PytorchTensor resolve(const ZipArchive& archive, const std::string& prefix,
                      const PickledTensor& pickled) {
  const std::string origin = archive.name() + ": " + pickled.name;
  const std::string entry_name = prefix + "/data/" + pickled.storage_key;
  const ZipEntry* entry = archive.find(entry_name);
  if (!entry) bad(origin, "its storage " + entry_name + " is not in the archive");
  const std::uint64_t element = torch_dtype_size(pickled.dtype);
  if (pickled.storage_numel > entry->data.size() / element) {
    bad(origin, "storage of " + std::to_string(pickled.storage_numel) + " elements does not fit " +
                    entry_name + " (" + std::to_string(entry->data.size()) + " bytes)");
  }
  // Row-major strides (size-1 dims may have any stride) and an element count without overflow.
  std::uint64_t numel = 1;
  for (std::size_t d = pickled.shape.size(); d-- > 0;) {
    const std::uint64_t size = pickled.shape[d];
    if (size != 1 && pickled.stride[d] != numel) {
      throw Error(ErrorCode::kUnsupported,
                  origin + ": strides are not row-major (dim " + std::to_string(d) +
                      " has stride " + std::to_string(pickled.stride[d]) + ", contiguous is " +
                      std::to_string(numel) + "); only contiguous tensors are read");
    }
    if (size != 0 && numel > std::numeric_limits<std::uint64_t>::max() / size) {
      bad(origin, "shape overflows 64 bits");
    }
    numel *= size;
  }
  if (pickled.storage_offset > pickled.storage_numel ||
      numel > pickled.storage_numel - pickled.storage_offset) {
    bad(origin, "elements " + std::to_string(pickled.storage_offset) + " + " +
                    std::to_string(numel) + " lie past its storage of " +
                    std::to_string(pickled.storage_numel) + " elements");
  }
  PytorchTensor tensor;
  tensor.name = pickled.name;
  tensor.dtype = pickled.dtype;
  tensor.shape = pickled.shape;
  tensor.data = entry->data.data() + pickled.storage_offset * element;
  tensor.n_bytes = numel * element;
  return tensor;
}

}  // namespace

PytorchCheckpoint PytorchCheckpoint::open(const std::filesystem::path& path,
                                          const MapOptions& options) {
  return parse(MappedFile::open(path, options));
}

PytorchCheckpoint PytorchCheckpoint::parse(std::shared_ptr<const MappedFile> file) {
  PytorchCheckpoint checkpoint;
  checkpoint.archive_ = ZipArchive::parse(std::move(file));
  const ZipArchive& archive = checkpoint.archive_;
  const std::string prefix = archive_prefix(archive);
  const ZipEntry& pickle = *archive.find(prefix + std::string(kPickleName));
  const auto pickled = read_pickled_state_dict(pickle.data, archive.name() + ": " + pickle.name);
  for (const auto& tensor : pickled) {
    checkpoint.index_.emplace(tensor.name, checkpoint.tensors_.size());
    checkpoint.tensors_.push_back(resolve(archive, prefix, tensor));
  }
  return checkpoint;
}

const PytorchTensor* PytorchCheckpoint::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace llama3::io
