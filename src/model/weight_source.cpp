#include "model/weight_source.hpp"

#include <cstring>

#include "llama3/error.hpp"
#include "model/hf_names.hpp"

namespace llama3::model {

const TensorView* WeightSource::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void WeightSource::release_pages(const TensorView& view) {
  if (view.file) view.file->release_pages({view.data, view.n_bytes});
}

void WeightSource::add(TensorView view) {
  const std::string name = view.name;
  if (index_.count(name)) {
    throw Error(ErrorCode::kBadFormat,
                origin_ + ": " + view.file_name + ": a second tensor named " + name);
  }
  index_.emplace(name, tensors_.size());
  tensors_.push_back(std::move(view));
}

WeightSource WeightSource::from_gguf(const io::GgufFile& gguf) {
  WeightSource source;
  source.origin_ = gguf.name();
  for (const auto& tensor : gguf.tensors()) {
    TensorView view;
    view.name = tensor.name;
    view.file_name = tensor.name;
    view.type = tensor.type;
    view.n_dims = tensor.n_dims;
    view.ne = tensor.ne;
    view.data = tensor.data;
    view.n_bytes = tensor.n_bytes;
    view.file = gguf.file().get();
    source.add(std::move(view));
  }
  return source;
}

WeightSource WeightSource::from_safetensors(const io::SafetensorsCheckpoint& checkpoint,
                                            std::string origin) {
  WeightSource source;
  source.origin_ = std::move(origin);
  for (const auto& shard : checkpoint.files()) {
    for (const auto& shard_tensor : shard.tensors()) {
      source.add_safetensors(shard_tensor, *shard.file());
    }
  }
  return source;
}

void WeightSource::add_safetensors(const io::SafetensorsTensor& tensor,
                                   const io::MappedFile& file) {
  const auto name = gguf_name_from_hf(tensor.name);
  if (!name) return;
  TensorView view;
  view.name = *name;
  view.file_name = tensor.name;
  switch (tensor.dtype) {
    case io::SafetensorsDtype::kF32:
      view.type = io::TensorType::kF32;
      break;
    case io::SafetensorsDtype::kF16:
      view.type = io::TensorType::kF16;
      break;
    case io::SafetensorsDtype::kBF16:
      view.type = io::TensorType::kBF16;
      break;
    default:
      throw Error(ErrorCode::kUnsupported,
                  origin_ + ": " + tensor.name + ": dtype " +
                      std::string(io::safetensors_dtype_name(tensor.dtype)) +
                      " is not supported (F32, F16, BF16)");
  }
  if (tensor.shape.empty() || tensor.shape.size() > 4) {
    throw Error(ErrorCode::kBadFormat, origin_ + ": " + tensor.name + ": has " +
                                           std::to_string(tensor.shape.size()) +
                                           " dims; a Llama weight has 1 or 2");
  }
  view.n_dims = static_cast<std::uint32_t>(tensor.shape.size());
  for (std::size_t d = 0; d < tensor.shape.size(); ++d) {
    view.ne[d] = tensor.shape[tensor.shape.size() - 1 - d];
  }
  view.n_bytes = tensor.n_bytes();
  view.data = tensor.data;
  view.file = &file;
  // safetensors does not promise aligned elements (the header length may be odd); the kernels
  // read whole elements, so such a tensor is copied once into aligned memory, which is no longer
  // the file's (release_pages must leave it alone).
  const std::size_t element = safetensors_dtype_size(tensor.dtype);
  if (reinterpret_cast<std::uintptr_t>(view.data) % element != 0) {
    auto copy = std::make_shared<std::vector<std::uint64_t>>((view.n_bytes + 7) / 8);
    std::memcpy(copy->data(), view.data, view.n_bytes);
    view.data = reinterpret_cast<const std::byte*>(copy->data());
    view.file = nullptr;
    realigned_.push_back(std::move(copy));
  }
  add(std::move(view));
}

}  // namespace llama3::model
