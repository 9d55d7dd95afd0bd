// The safetensors writer: header from the declared tensors, then their data streamed in order.
#include <span>

#include <nlohmann/json.hpp>

#include "io/output_file.hpp"
#include "io/safetensors.hpp"
#include "llama3/error.hpp"

namespace llama3::io {

void SafetensorsWriter::add_tensor(std::string name, SafetensorsDtype dtype,
                                   std::vector<std::uint64_t> shape) {
  if (name.empty() || name == "__metadata__") {
    throw Error(ErrorCode::kInvalidArgument, "safetensors: invalid tensor name '" + name + "'");
  }
  for (const auto& tensor : tensors_) {
    if (tensor.name == name) {
      throw Error(ErrorCode::kInvalidArgument, "safetensors: tensor " + name + " added twice");
    }
  }
  std::uint64_t n_bytes = safetensors_dtype_size(dtype);
  for (std::uint64_t d : shape) n_bytes *= d;
  tensors_.push_back({std::move(name), dtype, std::move(shape), n_bytes});
}

void SafetensorsWriter::set_metadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

void SafetensorsWriter::write(
    const std::filesystem::path& path,
    const std::function<void(std::size_t index, std::vector<std::byte>& out)>& write_data) const {
  // ordered_json keeps the declaration order, which is also the data order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  std::uint64_t offset = 0;
  for (const auto& tensor : tensors_) {
    header[tensor.name] = {{"dtype", safetensors_dtype_name(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + tensor.n_bytes}}};
    offset += tensor.n_bytes;
  }
  std::string text = header.dump();
  // Padded with spaces to a multiple of 8 so the buffer (and every tensor in it) stays aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  OutputFile out(path);
  std::byte length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::byte>((text.size() >> (8 * i)) & 0xFF);
  out.write(length);
  out.write(std::as_bytes(std::span(text)));
  std::vector<std::byte> data;
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    data.clear();
    write_data(i, data);
    if (data.size() != tensors_[i].n_bytes) {
      throw Error(ErrorCode::kInternal, path.string() + ": " + tensors_[i].name + ": wrote " +
                                            std::to_string(data.size()) + " bytes, expected " +
                                            std::to_string(tensors_[i].n_bytes));
    }
    out.write(data);
  }
  out.commit();
}

}  // namespace llama3::io
