// The GGUF reader. Every length, count, offset and size comes from an untrusted file, so each is
// checked against the bytes that remain before it is used to index, reserve or recurse; see
// docs/gguf.md for what is accepted and rejected and why.
#include <algorithm>
#include <numeric>
#include <string>
#include <unordered_map>

#include "io/gguf.hpp"
#include "io/gguf_format.hpp"
#include "llama3/error.hpp"

namespace llama3::io {

using namespace gguf_format;

namespace {

// ggml type ids (docs/facts.md §4) that tensor_type.hpp has no traits for: IQ*, TQ*, MXFP4 and
// newer.
bool is_ggml_type_id(std::uint32_t id) {
  return (id >= 16 && id <= 23) || id == 29 || id == 34 || id == 35 || (id >= 39 && id <= 42);
}

}  // namespace

class GgufParser {
 public:
  explicit GgufParser(std::shared_ptr<const MappedFile> file)
      : bytes_(file->bytes()), name_(file->name()) {
    result_.file_ = std::move(file);
  }

  GgufFile run() {
    read_header();
    read_metadata();
    resolve_alignment();
    read_tensor_infos();
    place_tensors();
    return std::move(result_);
  }

 private:
  // Smallest encodings, used to bound counts by the bytes left before anything is reserved.
  static constexpr std::uint64_t kMinKeyValueBytes = 8 + 4 + 1;  // key length, type, 1-byte value
  static constexpr std::uint64_t kMinTensorInfoBytes =
      8 + 4 + 8 + 4 + 8;  // name, n_dims, ne, type, offset
  static constexpr std::uint64_t kMinStringBytes = 8;
  static constexpr std::uint64_t kMinArrayBytes = 4 + 8;  // element type, count

  [[noreturn]] void fail(std::string_view context, const std::string& message) const {
    throw Error(ErrorCode::kBadFormat, name_ + ": " + std::string(context) + ": " + message);
  }

  std::uint64_t remaining() const { return bytes_.size() - pos_; }

  void need(std::uint64_t n, std::string_view context) const {
    if (n > remaining()) {
      fail(context, "truncated: needs " + std::to_string(n) + " bytes at offset " +
                        std::to_string(pos_) + ", file has " + std::to_string(bytes_.size()));
    }
  }

  std::uint64_t read_le(std::size_t n, std::string_view context) {
    need(n, context);
    const std::uint64_t v = load_le(bytes_.data() + pos_, n);
    pos_ += n;
    return v;
  }
  std::uint32_t read_u32(std::string_view context) {
    return static_cast<std::uint32_t>(read_le(4, context));
  }
  std::uint64_t read_u64(std::string_view context) { return read_le(8, context); }

  std::string_view read_string(std::string_view context) {
    const std::uint64_t length = read_u64(context);
    need(length, context);
    const std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return s;
  }

  void read_header() {
    constexpr std::string_view kContext = "header";
    need(4, kContext);
    if (load_le(bytes_.data(), 4) != kMagic) fail(kContext, "not a GGUF file (bad magic)");
    pos_ = 4;
    const std::uint32_t version = read_u32(kContext);
    if (version == 1) fail(kContext, "GGUF version 1 is no longer supported (as in ggml)");
    if (version < 2 || version > kVersion) {
      fail(kContext, "unsupported GGUF version " + std::to_string(version) + " (2 and 3 are read)");
    }
    result_.version_ = version;
    n_tensors_ = read_u64(kContext);
    n_metadata_ = read_u64(kContext);
  }

  void read_metadata() {
    if (n_metadata_ > remaining() / kMinKeyValueBytes) {
      fail("header",
           "metadata count " + std::to_string(n_metadata_) + " is more than the file can hold");
    }
    result_.metadata_.reserve(n_metadata_);
    result_.key_index_.reserve(n_metadata_);
    for (std::uint64_t i = 0; i < n_metadata_; ++i) {
      const std::string_view key = read_string("metadata entry " + std::to_string(i) + " (key)");
      // Keys are kept as the file spells them; invalid UTF-8 is not rejected (ggml does not either)
      // and lookups compare bytes, so such a key can only be found by the same bytes.
      const std::string context = "key '" + std::string(key) + "'";
      const std::uint32_t type_id = read_u32(context);
      GgufValue value = read_value(type_id, context, 0);
      if (!result_.key_index_.emplace(key, result_.metadata_.size()).second) {
        fail(context, "duplicate key");
      }
      result_.metadata_.push_back({key, std::move(value)});
    }
  }

  GgufValue read_value(std::uint32_t type_id, const std::string& context, int depth) {
    if (!is_known_type(type_id)) fail(context, "unknown value type " + std::to_string(type_id));
    GgufValue value;
    value.type_ = static_cast<GgufValueType>(type_id);
    if (const auto size = fixed_size(type_id)) {
      value.bits_ = read_le(*size, context);
      if (value.type_ == GgufValueType::kBool && value.bits_ > 1) {
        fail(context, "bool value " + std::to_string(value.bits_) + " is neither 0 nor 1");
      }
    } else if (value.type_ == GgufValueType::kString) {
      value.string_ = read_string(context);
    } else {
      read_array(value, context, depth + 1);
    }
    return value;
  }

  void read_array(GgufValue& array, const std::string& context, int depth) {
    if (depth > kMaxArrayDepth) {
      fail(context, "arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
    }
    const std::uint32_t element_id = read_u32(context);
    if (!is_known_type(element_id)) {
      fail(context, "unknown array element type " + std::to_string(element_id));
    }
    const std::uint64_t count = read_u64(context);
    array.element_type_ = static_cast<GgufValueType>(element_id);
    const auto too_long = [&] {
      fail(context, "array of " + std::to_string(count) + " " +
                        std::string(gguf_value_type_name(array.element_type_)) +
                        " runs past the end of the file");
    };
    if (const auto size = fixed_size(element_id)) {
      if (count > remaining() / *size) too_long();
      array.array_size_ = count;
      array.array_data_ = bytes_.data() + pos_;
      if (array.element_type_ == GgufValueType::kBool) {
        for (std::uint64_t i = 0; i < count; ++i) {
          if (std::to_integer<std::uint8_t>(array.array_data_[i]) > 1) {
            fail(context, "bool element " + std::to_string(i) + " is neither 0 nor 1");
          }
        }
      }
      pos_ += count * *size;
    } else if (array.element_type_ == GgufValueType::kString) {
      if (count > remaining() / kMinStringBytes) too_long();
      array.array_size_ = count;
      array.array_strings_.reserve(count);
      for (std::uint64_t i = 0; i < count; ++i)
        array.array_strings_.push_back(read_string(context));
    } else {
      if (count > remaining() / kMinArrayBytes) too_long();
      array.array_size_ = count;
      array.array_arrays_.reserve(count);
      for (std::uint64_t i = 0; i < count; ++i) {
        GgufValue element;
        element.type_ = GgufValueType::kArray;
        read_array(element, context, depth + 1);
        array.array_arrays_.push_back(std::move(element));
      }
    }
  }

  void resolve_alignment() {
    const GgufValue* value = result_.find(kAlignmentKey);
    if (!value) return;
    const std::string context = "key '" + std::string(kAlignmentKey) + "'";
    // ggml insists on u32; any integer width is accepted here because the value, not its width,
    // decides the layout, and other writers use u64 or i32 for integers.
    const std::uint64_t alignment = value->as_uint(name_ + ": " + context);
    if (!is_power_of_two(alignment)) {
      fail(context, "alignment " + std::to_string(alignment) + " is not a nonzero power of two");
    }
    result_.alignment_ = alignment;
  }

  void read_tensor_infos() {
    if (n_tensors_ > remaining() / kMinTensorInfoBytes) {
      fail("header",
           "tensor count " + std::to_string(n_tensors_) + " is more than the file can hold");
    }
    result_.tensors_.reserve(n_tensors_);
    result_.tensor_index_.reserve(n_tensors_);
    for (std::uint64_t i = 0; i < n_tensors_; ++i) read_tensor_info(i);
  }

  void read_tensor_info(std::uint64_t index) {
    const std::string_view name = read_string("tensor " + std::to_string(index) + " (name)");
    const std::string context = "tensor '" + std::string(name) + "'";
    if (name.size() > kMaxTensorNameBytes) {
      fail(context, "name is " + std::to_string(name.size()) + " bytes, at most " +
                        std::to_string(kMaxTensorNameBytes) + " are allowed");
    }
    if (!result_.tensor_index_.emplace(name, result_.tensors_.size()).second) {
      fail(context, "duplicate tensor name");
    }
    GgufTensorInfo info;
    info.name = std::string(name);
    info.n_dims = read_u32(context);
    if (info.n_dims < 1 || info.n_dims > kMaxDims) {
      fail(context, "has " + std::to_string(info.n_dims) + " dimensions, expected 1 to 4");
    }
    std::uint64_t n_elements = 1;
    for (std::uint32_t d = 0; d < info.n_dims; ++d) {
      const std::uint64_t ne = read_u64(context);
      if (ne == 0) fail(context, "dimension " + std::to_string(d) + " is zero");
      // ggml holds ne as int64, so the element count must stay below 2^63.
      if (__builtin_mul_overflow(n_elements, ne, &n_elements) ||
          n_elements > std::uint64_t(INT64_MAX)) {
        fail(context, "element count overflows (dimension " + std::to_string(d) + " is " +
                          std::to_string(ne) + ")");
      }
      info.ne[d] = ne;
    }
    const std::uint32_t type_id = read_u32(context);
    const auto traits = tensor_type_traits(type_id);
    if (!traits) {
      // A type ggml defines but this library does not run is well-formed, just unsupported.
      if (is_ggml_type_id(type_id)) {
        throw Error(ErrorCode::kUnsupported, name_ + ": " + context + ": tensor type " +
                                                 std::to_string(type_id) + " is not supported");
      }
      fail(context, "unknown tensor type " + std::to_string(type_id));
    }
    info.type = traits->type;
    if (info.ne[0] % traits->block_size != 0) {
      fail(context, "row length " + std::to_string(info.ne[0]) + " is not a multiple of the " +
                        std::string(traits->name) + " block size " +
                        std::to_string(traits->block_size));
    }
    // Computed here rather than with row_bytes(), which does not guard against overflow.
    if (__builtin_mul_overflow(info.ne[0] / traits->block_size, std::uint64_t{traits->block_bytes},
                               &info.n_bytes)) {
      fail(context, "byte size overflows");
    }
    for (std::uint32_t d = 1; d < kMaxDims; ++d) {
      if (__builtin_mul_overflow(info.n_bytes, info.ne[d], &info.n_bytes)) {
        fail(context, "byte size overflows");
      }
    }
    info.offset = read_u64(context);
    if (info.offset % result_.alignment_ != 0) {
      fail(context, "data offset " + std::to_string(info.offset) +
                        " is not a multiple of the alignment " +
                        std::to_string(result_.alignment_));
    }
    result_.tensors_.push_back(std::move(info));
  }

  void place_tensors() {
    auto& tensors = result_.tensors_;
    const auto data_start = align_up(pos_, result_.alignment_);
    if (!data_start) fail("header", "data section start overflows");
    for (auto& t : tensors) {
      std::uint64_t begin = 0;
      std::uint64_t end = 0;
      if (__builtin_add_overflow(*data_start, t.offset, &begin) ||
          __builtin_add_overflow(begin, t.n_bytes, &end) || end > bytes_.size()) {
        fail("tensor '" + t.name + "'", "data (offset " + std::to_string(t.offset) + ", " +
                                            std::to_string(t.n_bytes) +
                                            " bytes) runs past the end of the file (" +
                                            std::to_string(bytes_.size()) + " bytes)");
      }
      t.data = bytes_.data() + begin;
    }
    // Tensors may be stored in any order, but no two may share bytes.
    std::vector<std::size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return tensors[a].offset < tensors[b].offset; });
    for (std::size_t i = 1; i < order.size(); ++i) {
      const auto& previous = tensors[order[i - 1]];
      const auto& current = tensors[order[i]];
      if (previous.offset + previous.n_bytes > current.offset) {
        fail("tensor '" + current.name + "'", "data overlaps tensor '" + previous.name + "'");
      }
    }
  }

  std::span<const std::byte> bytes_;
  const std::string& name_;
  std::size_t pos_ = 0;
  std::uint64_t n_tensors_ = 0;
  std::uint64_t n_metadata_ = 0;
  GgufFile result_;
};

GgufFile GgufFile::open(const std::filesystem::path& path, const MapOptions& options) {
  return parse(MappedFile::open(path, options));
}

GgufFile GgufFile::parse(std::shared_ptr<const MappedFile> file) {
  if (!file) throw Error(ErrorCode::kInvalidArgument, "GgufFile::parse: no file");
  return GgufParser(std::move(file)).run();
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].value;
}

const GgufValue& GgufFile::get(std::string_view key) const {
  if (const GgufValue* value = find(key)) return *value;
  throw Error(ErrorCode::kBadFormat, name() + ": missing key '" + std::string(key) + "'");
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace llama3::io
