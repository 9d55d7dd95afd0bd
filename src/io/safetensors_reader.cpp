// The safetensors reader: header parsing and the reference implementation's validation.
#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "io/safetensors.hpp"
#include "llama3/error.hpp"

namespace llama3::io {
namespace {

// The reference implementation's MAX_HEADER_SIZE.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeInfo {
  SafetensorsDtype dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DtypeInfo, 15> kDtypes = {{
    {SafetensorsDtype::kBool, "BOOL", 1},
    {SafetensorsDtype::kU8, "U8", 1},
    {SafetensorsDtype::kI8, "I8", 1},
    {SafetensorsDtype::kF8_E5M2, "F8_E5M2", 1},
    {SafetensorsDtype::kF8_E4M3, "F8_E4M3", 1},
    {SafetensorsDtype::kI16, "I16", 2},
    {SafetensorsDtype::kU16, "U16", 2},
    {SafetensorsDtype::kF16, "F16", 2},
    {SafetensorsDtype::kBF16, "BF16", 2},
    {SafetensorsDtype::kI32, "I32", 4},
    {SafetensorsDtype::kU32, "U32", 4},
    {SafetensorsDtype::kF32, "F32", 4},
    {SafetensorsDtype::kF64, "F64", 8},
    {SafetensorsDtype::kI64, "I64", 8},
    {SafetensorsDtype::kU64, "U64", 8},
}};

const DtypeInfo& info_of(SafetensorsDtype dtype) {
  return kDtypes[static_cast<std::size_t>(dtype)];
}

[[noreturn]] void bad(const std::string& file, const std::string& what) {
  throw Error(ErrorCode::kBadFormat, file + ": " + what);
}

// nlohmann keeps the last of two equal keys without a word; the reference rejects them. A parser
// callback sees every key in document order, with one set of seen keys per open object.
nlohmann::json parse_header_json(std::string_view text, const std::string& file) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto callback = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      open_objects.emplace_back();
    } else if (event == Event::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == Event::key && !open_objects.empty() && duplicate.empty()) {
      if (!open_objects.back().insert(parsed.get<std::string>()).second) {
        duplicate = parsed.get<std::string>();
      }
    }
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::json::exception& error) {
    bad(file, std::string("header is not valid JSON: ") + error.what());
  }
  if (!duplicate.empty()) bad(file, duplicate + ": name appears twice in the header");
  return header;
}

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | std::to_integer<std::uint64_t>(p[i]);
  return value;
}

// One header entry -> a tensor with dtype, shape and offsets (data is bound after validation).
SafetensorsTensor parse_entry(const std::string& file, const std::string& name,
                              const nlohmann::json& entry) {
  auto fail = [&](const std::string& what) -> void { bad(file, name + ": " + what); };
  if (!entry.is_object()) fail("entry is not an object");
  SafetensorsTensor tensor;
  tensor.name = name;
  const auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string()) fail("missing or non-string \"dtype\"");
  const auto parsed = safetensors_dtype_from_name(dtype->get<std::string>());
  if (!parsed) fail("unknown dtype '" + dtype->get<std::string>() + "'");
  tensor.dtype = *parsed;
  const auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) fail("missing or non-array \"shape\"");
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned()) fail("shape holds " + d.dump() + ", not a size");
    tensor.shape.push_back(d.get<std::uint64_t>());
  }
  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    fail("\"data_offsets\" is not a pair of unsigned integers");
  }
  tensor.begin = (*offsets)[0].get<std::uint64_t>();
  tensor.end = (*offsets)[1].get<std::uint64_t>();
  return tensor;
}

// The reference's validate(): sorted by offset, the tensors tile [0, buffer_size) exactly, and each
// one's byte length is its element count times the dtype size.
void validate_layout(const std::string& file, std::vector<SafetensorsTensor>& tensors,
                     std::uint64_t buffer_size) {
  std::vector<const SafetensorsTensor*> by_offset;
  for (const auto& tensor : tensors) by_offset.push_back(&tensor);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t expected_begin = 0;
  for (const auto* tensor : by_offset) {
    const std::string at = tensor->name + ": data_offsets [" + std::to_string(tensor->begin) +
                           ", " + std::to_string(tensor->end) + "]";
    if (tensor->end < tensor->begin) bad(file, at + " are reversed");
    if (tensor->begin > expected_begin) {
      bad(file, at + " leave a gap after byte " + std::to_string(expected_begin));
    }
    if (tensor->begin < expected_begin) {
      bad(file, at + " overlap the tensor ending at byte " + std::to_string(expected_begin));
    }
    if (tensor->end > buffer_size) {
      bad(file, at + " run past the end of the " + std::to_string(buffer_size) + "-byte buffer");
    }
    std::uint64_t n_bytes = safetensors_dtype_size(tensor->dtype);
    for (std::uint64_t d : tensor->shape) {
      if (d != 0 && n_bytes > std::numeric_limits<std::uint64_t>::max() / d) {
        bad(file, tensor->name + ": shape × dtype size overflows 64 bits");
      }
      n_bytes *= d;
    }
    if (tensor->end - tensor->begin != n_bytes) {
      bad(file, at + " hold " + std::to_string(tensor->end - tensor->begin) +
                    " bytes but shape × dtype size is " + std::to_string(n_bytes));
    }
    expected_begin = tensor->end;
  }
  if (expected_begin != buffer_size) {
    bad(file, "the tensors cover " + std::to_string(expected_begin) + " bytes of the " +
                  std::to_string(buffer_size) + "-byte buffer (trailing bytes)");
  }
}

}  // namespace

std::optional<SafetensorsDtype> safetensors_dtype_from_name(std::string_view name) {
  for (const auto& info : kDtypes) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

std::string_view safetensors_dtype_name(SafetensorsDtype dtype) {
  return info_of(dtype).name;
}
std::size_t safetensors_dtype_size(SafetensorsDtype dtype) {
  return info_of(dtype).size;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path,
                                      const MapOptions& options) {
  return parse(MappedFile::open(path, options));
}

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<const MappedFile> mapped) {
  SafetensorsFile result;
  result.file_ = std::move(mapped);
  const std::string& file = result.file_->name();
  const auto bytes = result.file_->bytes();
  if (bytes.size() < 8) bad(file, "shorter than the 8-byte header length");
  const std::uint64_t header_bytes = read_u64_le(bytes.data());
  if (header_bytes > kMaxHeaderBytes) {
    bad(file, "header length " + std::to_string(header_bytes) + " is over the 100 MB limit");
  }
  if (header_bytes > bytes.size() - 8) {
    bad(file, "header length " + std::to_string(header_bytes) + " runs past the end of the " +
                  std::to_string(bytes.size()) + "-byte file");
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), header_bytes);
  if (text.empty() || text.front() != '{') bad(file, "header does not start with '{'");
  const nlohmann::json header = parse_header_json(text, file);
  if (!header.is_object()) bad(file, "header is not a JSON object");

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) bad(file, "__metadata__ is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) bad(file, "__metadata__: " + key + " is not a string");
        result.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    result.tensors_.push_back(parse_entry(file, name, entry));
  }
  const std::uint64_t buffer_size = bytes.size() - 8 - header_bytes;
  validate_layout(file, result.tensors_, buffer_size);
  const std::byte* buffer = bytes.data() + 8 + header_bytes;
  for (std::size_t i = 0; i < result.tensors_.size(); ++i) {
    auto& tensor = result.tensors_[i];
    tensor.data = buffer + tensor.begin;
    result.index_.emplace(tensor.name, i);
  }
  return result;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::filesystem::path& folder,
                                                  const MapOptions& options) {
  SafetensorsCheckpoint result;
  const auto index_path = folder / "model.safetensors.index.json";
  if (!std::filesystem::exists(index_path)) {
    const auto single = folder / "model.safetensors";
    if (!std::filesystem::exists(single)) {
      throw Error(ErrorCode::kIo, folder.string() +
                                      ": has neither model.safetensors nor "
                                      "model.safetensors.index.json");
    }
    result.files_.push_back(SafetensorsFile::open(single, options));
  } else {
    const std::string origin = index_path.string();
    std::string text;
    {
      const auto mapped = MappedFile::open(index_path);
      text.assign(reinterpret_cast<const char*>(mapped->bytes().data()), mapped->bytes().size());
    }
    const nlohmann::json index = parse_header_json(text, origin);
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
      bad(origin, "no \"weight_map\" object");
    }
    std::vector<std::string> shard_names;
    std::unordered_map<std::string, std::string> shard_of;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
      if (!shard.is_string()) bad(origin, tensor + ": shard is not a file name");
      const auto& name = shard.get_ref<const std::string&>();
      // A shard is a file beside the index, never a path that could leave the folder.
      if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
        bad(origin, tensor + ": shard '" + name + "' is not a plain file name");
      }
      if (std::find(shard_names.begin(), shard_names.end(), name) == shard_names.end()) {
        shard_names.push_back(name);
      }
      shard_of.emplace(tensor, name);
    }
    std::sort(shard_names.begin(), shard_names.end());
    for (const auto& name : shard_names) {
      result.files_.push_back(SafetensorsFile::open(folder / name, options));
      const auto& shard = result.files_.back();
      for (const auto& tensor : shard.tensors()) {
        const auto it = shard_of.find(tensor.name);
        if (it == shard_of.end() || it->second != name) {
          bad(shard.name(), tensor.name + ": not assigned to this shard by the index");
        }
      }
    }
    for (const auto& [tensor, shard] : shard_of) {
      const auto it = std::find(shard_names.begin(), shard_names.end(), shard);
      if (!result.files_[static_cast<std::size_t>(it - shard_names.begin())].find(tensor)) {
        bad(origin, tensor + ": the index puts it in " + shard + ", which does not hold it");
      }
    }
  }
  for (const auto& file : result.files_) {
    for (const auto& tensor : file.tensors()) {
      if (!result.index_.emplace(tensor.name, &tensor).second) {
        bad(file.name(), tensor.name + ": also present in another shard");
      }
    }
  }
  return result;
}

const SafetensorsTensor* SafetensorsCheckpoint::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : it->second;
}

std::vector<const SafetensorsTensor*> SafetensorsCheckpoint::tensors() const {
  std::vector<const SafetensorsTensor*> all;
  for (const auto& file : files_) {
    for (const auto& tensor : file.tensors()) all.push_back(&tensor);
  }
  return all;
}

}  // namespace llama3::io
