#include "model/weight_source.hpp"

#include <algorithm>
#include <cstring>

#include "llama3/error.hpp"
#include "model/hf_names.hpp"
#include "model/meta_names.hpp"

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
  io::TensorType type = io::TensorType::kF32;
  switch (tensor.dtype) {
    case io::SafetensorsDtype::kF32:
      type = io::TensorType::kF32;
      break;
    case io::SafetensorsDtype::kF16:
      type = io::TensorType::kF16;
      break;
    case io::SafetensorsDtype::kBF16:
      type = io::TensorType::kBF16;
      break;
    default:
      throw Error(ErrorCode::kUnsupported,
                  origin_ + ": " + tensor.name + ": dtype " +
                      std::string(io::safetensors_dtype_name(tensor.dtype)) +
                      " is not supported (F32, F16, BF16)");
  }
  add_pytorch_ordered(*name, tensor.name, type, tensor.shape, tensor.data, tensor.n_bytes(), &file);
}

void WeightSource::add_pytorch_ordered(const std::string& name, const std::string& file_name,
                                       io::TensorType type, std::span<const std::uint64_t> shape,
                                       const std::byte* data, std::uint64_t n_bytes,
                                       const io::MappedFile* file) {
  TensorView view;
  view.name = name;
  view.file_name = file_name;
  view.type = type;
  if (shape.empty() || shape.size() > 4) {
    throw Error(ErrorCode::kBadFormat, origin_ + ": " + file_name + ": has " +
                                           std::to_string(shape.size()) +
                                           " dims; a Llama weight has 1 or 2");
  }
  view.n_dims = static_cast<std::uint32_t>(shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d) view.ne[d] = shape[shape.size() - 1 - d];
  view.n_bytes = n_bytes;
  view.data = data;
  view.file = file;
  // Neither safetensors nor a hand-made zip promises aligned elements (a safetensors header length
  // may be odd); the kernels read whole elements, so such a tensor is copied once into aligned
  // memory, which is no longer the file's (release_pages must leave it alone).
  const std::size_t element = io::traits_of(type).block_bytes;
  if (reinterpret_cast<std::uintptr_t>(view.data) % element != 0) {
    auto copy = std::make_shared<std::vector<std::uint64_t>>((view.n_bytes + 7) / 8);
    std::memcpy(copy->data(), view.data, view.n_bytes);
    view.data = reinterpret_cast<const std::byte*>(copy->data());
    view.file = nullptr;
    owned_.push_back(std::move(copy));
  }
  add(std::move(view));
}

WeightSource WeightSource::from_pytorch(const std::vector<io::PytorchCheckpoint>& shards,
                                        std::uint64_t dim, std::string origin) {
  WeightSource source;
  source.origin_ = std::move(origin);
  if (shards.empty()) return source;
  std::size_t n_weights = 0;
  for (const auto& tensor : shards.front().tensors()) {
    const auto name = gguf_name_from_meta(tensor.name);
    if (!name) continue;
    ++n_weights;
    std::vector<const io::PytorchTensor*> parts;
    for (const auto& shard : shards) {
      const auto* part = shard.find(tensor.name);
      if (!part) {
        throw Error(ErrorCode::kBadFormat, shard.name() + ": has no " + tensor.name + ", which " +
                                               shards.front().name() + " has");
      }
      if (part->dtype != tensor.dtype || part->shape.size() != tensor.shape.size()) {
        throw Error(ErrorCode::kBadFormat, shard.name() + ": " + tensor.name +
                                               ": dtype or rank differs from " +
                                               shards.front().name());
      }
      parts.push_back(part);
    }
    source.add_meta_tensor(*name, parts, dim, shards.front().file().get());
  }
  // Every shard holds the same weights: one with more would have them left out.
  for (const auto& shard : shards) {
    std::size_t n = 0;
    for (const auto& tensor : shard.tensors()) n += gguf_name_from_meta(tensor.name) ? 1 : 0;
    if (n != n_weights) {
      throw Error(ErrorCode::kBadFormat, shard.name() + ": holds " + std::to_string(n) +
                                             " Llama weights, " + shards.front().name() + " " +
                                             std::to_string(n_weights));
    }
  }
  return source;
}

void WeightSource::add_meta_tensor(const std::string& name,
                                   const std::vector<const io::PytorchTensor*>& parts,
                                   std::uint64_t dim, const io::MappedFile* file) {
  const io::PytorchTensor& first = *parts.front();
  io::TensorType type = io::TensorType::kF32;
  switch (first.dtype) {
    case io::TorchDtype::kF32:
      type = io::TensorType::kF32;
      break;
    case io::TorchDtype::kF16:
      type = io::TensorType::kF16;
      break;
    case io::TorchDtype::kBF16:
      type = io::TensorType::kBF16;
      break;
    default:
      throw Error(ErrorCode::kUnsupported, origin_ + ": " + first.name + ": dtype " +
                                               std::string(io::torch_dtype_name(first.dtype)) +
                                               " is not supported (Float, Half, BFloat16)");
  }
  if (parts.size() == 1) {
    add_pytorch_ordered(name, first.name, type, first.shape, first.data, first.n_bytes, file);
    return;
  }
  if (first.shape.size() == 1) {
    // Norms are whole in every shard; they must agree.
    for (const auto* part : parts) {
      if (part->n_bytes != first.n_bytes ||
          std::memcmp(part->data, first.data, first.n_bytes) != 0) {
        throw Error(ErrorCode::kBadFormat, origin_ + ": " + first.name +
                                               ": differs between shards (a norm is copied whole)");
      }
    }
    add_pytorch_ordered(name, first.name, type, first.shape, first.data, first.n_bytes, file);
    return;
  }
  if (first.shape.size() != 2) {
    throw Error(ErrorCode::kBadFormat, origin_ + ": " + first.name + ": has " +
                                           std::to_string(first.shape.size()) + " dims");
  }
  const std::size_t n = parts.size();
  int axis = meta_shard_dim(name);
  // The embedding: split on the vocabulary (Llama 3) unless its shards are dim / n wide (Llama 2).
  if (name == "token_embd.weight" && first.shape[1] != dim && first.shape[1] * n == dim) axis = 1;
  const std::size_t other = 1 - static_cast<std::size_t>(axis);
  std::vector<std::uint64_t> shape = first.shape;
  shape[static_cast<std::size_t>(axis)] = 0;
  for (const auto* part : parts) {
    if (part->shape[other] != first.shape[other]) {
      throw Error(ErrorCode::kBadFormat, origin_ + ": " + first.name + ": shards split on dim " +
                                             std::to_string(axis) + " must agree on dim " +
                                             std::to_string(other) + " (" +
                                             std::to_string(part->shape[other]) + " vs " +
                                             std::to_string(first.shape[other]) + ")");
    }
    shape[static_cast<std::size_t>(axis)] += part->shape[static_cast<std::size_t>(axis)];
  }
  std::uint64_t n_bytes = 0;
  for (const auto* part : parts) n_bytes += part->n_bytes;
  auto joined = std::make_shared<std::vector<std::uint64_t>>((n_bytes + 7) / 8);
  auto* out = reinterpret_cast<std::byte*>(joined->data());
  if (axis == 0) {
    for (const auto* part : parts) out = std::copy_n(part->data, part->n_bytes, out);
  } else {
    // Row r of the whole is row r of each shard, side by side.
    const std::uint64_t rows = first.shape[0];
    for (std::uint64_t r = 0; r < rows; ++r) {
      for (const auto* part : parts) {
        const std::uint64_t row_bytes = part->n_bytes / rows;
        out = std::copy_n(part->data + r * row_bytes, row_bytes, out);
      }
    }
  }
  owned_.push_back(joined);
  add_pytorch_ordered(name, first.name + " (" + std::to_string(n) + " shards)", type, shape,
                      reinterpret_cast<const std::byte*>(joined->data()), n_bytes, nullptr);
}

}  // namespace llama3::model
