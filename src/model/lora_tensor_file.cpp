#include "model/lora_tensor_file.hpp"

#include <algorithm>
#include <cstring>
#include <span>
#include <string_view>

#include "io/pytorch_checkpoint.hpp"
#include "io/safetensors.hpp"
#include "llama3/error.hpp"

namespace llama3::model {
namespace {

// torchtune before 0.5 (pytorch/torchtune#2074) wrote adapter_<epoch>.pt into the output folder.
bool is_epoch_adapter(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  if (!name.starts_with("adapter_") || !name.ends_with(".pt")) return false;
  const std::string epoch = name.substr(8, name.size() - 8 - 3);
  return !epoch.empty() &&
         std::all_of(epoch.begin(), epoch.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::filesystem::path tensors_in_folder(const std::filesystem::path& folder) {
  std::error_code ec;
  for (const char* name : {"adapter_model.safetensors", "adapter_model.pt", "adapter_model.bin"}) {
    if (std::filesystem::exists(folder / name, ec)) return folder / name;
  }
  std::vector<std::string> epochs;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (entry.is_regular_file(ec) && is_epoch_adapter(entry.path())) {
      epochs.push_back(entry.path().filename().string());
    }
  }
  std::sort(epochs.begin(), epochs.end());
  if (epochs.size() == 1) return folder / epochs[0];
  if (epochs.size() > 1) {
    std::string names;
    for (const auto& name : epochs) names += (names.empty() ? "" : ", ") + name;
    throw Error(ErrorCode::kInvalidArgument,
                folder.string() + ": several epochs' adapters (" + names + "); name the file");
  }
  throw Error(ErrorCode::kIo, folder.string() +
                                  ": no adapter_model.safetensors, adapter_model.pt or "
                                  "adapter_model.bin in the folder");
}

io::TensorType tensor_type_of(io::SafetensorsDtype dtype, const std::string& origin) {
  switch (dtype) {
    case io::SafetensorsDtype::kF32:
      return io::TensorType::kF32;
    case io::SafetensorsDtype::kF16:
      return io::TensorType::kF16;
    case io::SafetensorsDtype::kBF16:
      return io::TensorType::kBF16;
    default:
      throw Error(ErrorCode::kUnsupported, origin + ": dtype " +
                                               std::string(io::safetensors_dtype_name(dtype)) +
                                               " (F32, F16 and BF16 adapters are supported)");
  }
}

io::TensorType tensor_type_of(io::TorchDtype dtype, const std::string& origin) {
  switch (dtype) {
    case io::TorchDtype::kF32:
      return io::TensorType::kF32;
    case io::TorchDtype::kF16:
      return io::TensorType::kF16;
    case io::TorchDtype::kBF16:
      return io::TensorType::kBF16;
    default:
      throw Error(ErrorCode::kUnsupported,
                  origin + ": dtype " + std::string(io::torch_dtype_name(dtype)) +
                      " (Float, Half and BFloat16 adapters are supported)");
  }
}

bool starts_with(std::span<const std::byte> bytes, std::string_view magic) {
  return bytes.size() >= magic.size() && std::memcmp(bytes.data(), magic.data(), magic.size()) == 0;
}

}  // namespace

LoraAdapterFiles find_lora_adapter_files(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return {tensors_in_folder(path), path / "adapter_config.json"};
  }
  if (!std::filesystem::exists(path, ec)) {
    throw Error(ErrorCode::kIo, path.string() + ": no such adapter file or folder");
  }
  return {path, path.parent_path() / "adapter_config.json"};
}

LoraTensorFile LoraTensorFile::open(const std::filesystem::path& path) {
  LoraTensorFile result;
  result.file_ = io::MappedFile::open(path);
  const auto bytes = result.file_->bytes();
  if (starts_with(bytes, "PK\x03\x04")) {
    const auto checkpoint = io::PytorchCheckpoint::parse(result.file_);
    for (const auto& tensor : checkpoint.tensors()) {
      const std::string origin = checkpoint.name() + ": " + tensor.name;
      result.tensors_.push_back({tensor.name, tensor_type_of(tensor.dtype, origin), tensor.shape,
                                 tensor.data, static_cast<std::size_t>(tensor.n_bytes)});
    }
    return result;
  }
  if (starts_with(bytes, "\x80")) {  // a pickle protocol opcode: torch.save's pre-1.6 format
    throw Error(ErrorCode::kUnsupported,
                result.file_->name() +
                    ": the legacy torch.save format (PyTorch before 1.6, not a zip); load and "
                    "save it again with a newer PyTorch");
  }
  const std::string extension = path.extension().string();
  if (extension == ".pt" || extension == ".bin" || extension == ".pth") {
    throw Error(ErrorCode::kBadFormat,
                result.file_->name() + ": not a torch.save checkpoint (no zip signature)");
  }
  const auto file = io::SafetensorsFile::parse(result.file_);
  for (const auto& tensor : file.tensors()) {
    const std::string origin = file.name() + ": " + tensor.name;
    result.tensors_.push_back({tensor.name, tensor_type_of(tensor.dtype, origin), tensor.shape,
                               tensor.data, static_cast<std::size_t>(tensor.n_bytes())});
  }
  return result;
}

}  // namespace llama3::model
