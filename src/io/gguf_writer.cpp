// The GGUF v3 writer: metadata and tensor infos are encoded in memory, tensor data is streamed one
// tensor at a time, and the file only appears under its name once it is complete.
#include <bit>
#include <limits>
#include <string>

#include "io/gguf.hpp"
#include "io/gguf_format.hpp"
#include "io/output_file.hpp"
#include "llama3/error.hpp"

namespace llama3::io {
namespace {

using namespace gguf_format;

void append_le(std::vector<std::byte>& out, std::uint64_t value, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

void append_string(std::vector<std::byte>& out, std::string_view s) {
  append_le(out, s.size(), 8);
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  out.insert(out.end(), p, p + s.size());
}

void append_type(std::vector<std::byte>& out, GgufValueType type) {
  append_le(out, static_cast<std::uint32_t>(type), 4);
}

std::vector<std::byte> encode_scalar(GgufValueType type, std::uint64_t bits) {
  std::vector<std::byte> out;
  append_type(out, type);
  append_le(out, bits, *fixed_size(static_cast<std::uint32_t>(type)));
  return out;
}

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "GgufWriter: " + message);
}

}  // namespace

GgufArrayBuilder::GgufArrayBuilder(GgufValueType element_type) : element_type_(element_type) {
  if (!is_known_type(static_cast<std::uint32_t>(element_type))) {
    invalid("unknown array element type " +
            std::to_string(static_cast<std::uint32_t>(element_type)));
  }
}

void GgufArrayBuilder::expect(bool ok, std::string_view what) const {
  if (!ok) {
    invalid("cannot add " + std::string(what) + " to an array of " +
            std::string(gguf_value_type_name(element_type_)));
  }
}

GgufArrayBuilder& GgufArrayBuilder::add_uint(std::uint64_t value) {
  expect(is_integer(element_type_), "an integer");
  const std::size_t n = *fixed_size(static_cast<std::uint32_t>(element_type_));
  const unsigned value_bits = is_signed_integer(element_type_) ? 8 * n - 1 : 8 * n;
  expect(value_bits >= 64 || value < (std::uint64_t{1} << value_bits),
         "the out-of-range value " + std::to_string(value));
  append_le(elements_, value, n);
  ++count_;
  return *this;
}

GgufArrayBuilder& GgufArrayBuilder::add_int(std::int64_t value) {
  if (value >= 0) return add_uint(static_cast<std::uint64_t>(value));
  expect(is_signed_integer(element_type_), "the negative value " + std::to_string(value));
  const std::size_t n = *fixed_size(static_cast<std::uint32_t>(element_type_));
  expect(n >= 8 || value >= -(std::int64_t{1} << (8 * n - 1)),
         "the out-of-range value " + std::to_string(value));
  append_le(elements_, static_cast<std::uint64_t>(value), n);
  ++count_;
  return *this;
}

GgufArrayBuilder& GgufArrayBuilder::add_float(double value) {
  if (element_type_ == GgufValueType::kFloat32) {
    append_le(elements_, std::bit_cast<std::uint32_t>(static_cast<float>(value)), 4);
  } else {
    expect(element_type_ == GgufValueType::kFloat64, "a float");
    append_le(elements_, std::bit_cast<std::uint64_t>(value), 8);
  }
  ++count_;
  return *this;
}

GgufArrayBuilder& GgufArrayBuilder::add_bool(bool value) {
  expect(element_type_ == GgufValueType::kBool, "a bool");
  append_le(elements_, value ? 1 : 0, 1);
  ++count_;
  return *this;
}

GgufArrayBuilder& GgufArrayBuilder::add_string(std::string_view value) {
  expect(element_type_ == GgufValueType::kString, "a string");
  append_string(elements_, value);
  ++count_;
  return *this;
}

GgufArrayBuilder& GgufArrayBuilder::add_array(const GgufArrayBuilder& value) {
  expect(element_type_ == GgufValueType::kArray, "an array");
  const auto encoded = value.encode();
  elements_.insert(elements_.end(), encoded.begin(), encoded.end());
  ++count_;
  return *this;
}

std::vector<std::byte> GgufArrayBuilder::encode() const {
  std::vector<std::byte> out;
  out.reserve(12 + elements_.size());
  append_type(out, element_type_);
  append_le(out, count_, 8);
  out.insert(out.end(), elements_.begin(), elements_.end());
  return out;
}

GgufWriter::GgufWriter(std::uint64_t alignment) : alignment_(alignment) {
  if (!is_power_of_two(alignment)) {
    invalid("alignment " + std::to_string(alignment) + " is not a nonzero power of two");
  }
  // ggml reads general.alignment as u32 only, so that is the type written.
  if (alignment > std::numeric_limits<std::uint32_t>::max()) {
    invalid("alignment " + std::to_string(alignment) + " does not fit general.alignment (u32)");
  }
}

void GgufWriter::add_metadata(std::string key, GgufValueType type, std::vector<std::byte> value) {
  if (key == kAlignmentKey) invalid("general.alignment comes from the constructor");
  for (const auto& entry : metadata_) {
    if (entry.key == key) invalid("duplicate key '" + key + "'");
  }
  std::vector<std::byte> encoded;
  encoded.reserve(4 + value.size());
  append_type(encoded, type);
  encoded.insert(encoded.end(), value.begin(), value.end());
  metadata_.push_back({std::move(key), std::move(encoded)});
}

namespace {
// The value bytes of a scalar (without its type tag).
std::vector<std::byte> scalar_bytes(GgufValueType type, std::uint64_t bits) {
  auto encoded = encode_scalar(type, bits);
  return {encoded.begin() + 4, encoded.end()};
}
}  // namespace

void GgufWriter::set_uint8(std::string key, std::uint8_t value) {
  add_metadata(std::move(key), GgufValueType::kUint8, scalar_bytes(GgufValueType::kUint8, value));
}
void GgufWriter::set_int8(std::string key, std::int8_t value) {
  add_metadata(std::move(key), GgufValueType::kInt8,
               scalar_bytes(GgufValueType::kInt8, static_cast<std::uint8_t>(value)));
}
void GgufWriter::set_uint16(std::string key, std::uint16_t value) {
  add_metadata(std::move(key), GgufValueType::kUint16, scalar_bytes(GgufValueType::kUint16, value));
}
void GgufWriter::set_int16(std::string key, std::int16_t value) {
  add_metadata(std::move(key), GgufValueType::kInt16,
               scalar_bytes(GgufValueType::kInt16, static_cast<std::uint16_t>(value)));
}
void GgufWriter::set_uint32(std::string key, std::uint32_t value) {
  add_metadata(std::move(key), GgufValueType::kUint32, scalar_bytes(GgufValueType::kUint32, value));
}
void GgufWriter::set_int32(std::string key, std::int32_t value) {
  add_metadata(std::move(key), GgufValueType::kInt32,
               scalar_bytes(GgufValueType::kInt32, static_cast<std::uint32_t>(value)));
}
void GgufWriter::set_uint64(std::string key, std::uint64_t value) {
  add_metadata(std::move(key), GgufValueType::kUint64, scalar_bytes(GgufValueType::kUint64, value));
}
void GgufWriter::set_int64(std::string key, std::int64_t value) {
  add_metadata(std::move(key), GgufValueType::kInt64,
               scalar_bytes(GgufValueType::kInt64, static_cast<std::uint64_t>(value)));
}
void GgufWriter::set_float32(std::string key, float value) {
  add_metadata(std::move(key), GgufValueType::kFloat32,
               scalar_bytes(GgufValueType::kFloat32, std::bit_cast<std::uint32_t>(value)));
}
void GgufWriter::set_float64(std::string key, double value) {
  add_metadata(std::move(key), GgufValueType::kFloat64,
               scalar_bytes(GgufValueType::kFloat64, std::bit_cast<std::uint64_t>(value)));
}
void GgufWriter::set_bool(std::string key, bool value) {
  add_metadata(std::move(key), GgufValueType::kBool,
               scalar_bytes(GgufValueType::kBool, value ? 1 : 0));
}
void GgufWriter::set_string(std::string key, std::string value) {
  std::vector<std::byte> encoded;
  append_string(encoded, value);
  add_metadata(std::move(key), GgufValueType::kString, std::move(encoded));
}

void GgufWriter::set_array(std::string key, const GgufArrayBuilder& array) {
  add_metadata(std::move(key), GgufValueType::kArray, array.encode());
}

void GgufWriter::set_string_array(std::string key, std::vector<std::string> values) {
  GgufArrayBuilder array(GgufValueType::kString);
  for (const auto& v : values) array.add_string(v);
  set_array(std::move(key), array);
}

void GgufWriter::set_int32_array(std::string key, std::vector<std::int32_t> values) {
  GgufArrayBuilder array(GgufValueType::kInt32);
  for (const auto v : values) array.add_int(v);
  set_array(std::move(key), array);
}

void GgufWriter::set_float32_array(std::string key, std::vector<float> values) {
  GgufArrayBuilder array(GgufValueType::kFloat32);
  for (const auto v : values) array.add_float(v);
  set_array(std::move(key), array);
}

void GgufWriter::add_tensor(std::string name, std::span<const std::uint64_t> ne, TensorType type) {
  if (name.empty() || name.size() > kMaxTensorNameBytes) {
    invalid("tensor name '" + name + "' must be 1 to 63 bytes");
  }
  for (const auto& t : tensors_) {
    if (t.name == name) invalid("duplicate tensor '" + name + "'");
  }
  if (ne.empty() || ne.size() > kMaxDims) invalid("tensor '" + name + "' needs 1 to 4 dims");
  const auto& traits = traits_of(type);
  if (ne[0] % traits.block_size != 0) {
    invalid("tensor '" + name + "': row length " + std::to_string(ne[0]) +
            " is not a multiple of the " + std::string(traits.name) + " block size");
  }
  std::uint64_t n_bytes = 0;
  if (__builtin_mul_overflow(ne[0] / traits.block_size, std::uint64_t{traits.block_bytes},
                             &n_bytes)) {
    invalid("tensor '" + name + "' byte size overflows");
  }
  for (std::size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] == 0) invalid("tensor '" + name + "' has a zero dimension");
    if (d > 0 && __builtin_mul_overflow(n_bytes, ne[d], &n_bytes)) {
      invalid("tensor '" + name + "' byte size overflows");
    }
  }
  tensors_.push_back({std::move(name), {ne.begin(), ne.end()}, type, n_bytes});
}

void GgufWriter::write(const std::filesystem::path& path,
                       const std::function<void(std::size_t tensor_index,
                                                std::vector<std::byte>& out)>& write_data) const {
  const bool write_alignment = alignment_ != kDefaultAlignment;
  std::vector<std::byte> head;
  append_le(head, kMagic, 4);
  append_le(head, kVersion, 4);
  append_le(head, tensors_.size(), 8);
  append_le(head, metadata_.size() + (write_alignment ? 1 : 0), 8);
  if (write_alignment) {
    append_string(head, kAlignmentKey);
    const auto value = encode_scalar(GgufValueType::kUint32, alignment_);
    head.insert(head.end(), value.begin(), value.end());
  }
  for (const auto& entry : metadata_) {
    append_string(head, entry.key);
    head.insert(head.end(), entry.encoded.begin(), entry.encoded.end());
  }
  std::uint64_t offset = 0;
  for (const auto& t : tensors_) {
    append_string(head, t.name);
    append_le(head, t.ne.size(), 4);
    for (const auto n : t.ne) append_le(head, n, 8);
    append_le(head, static_cast<std::uint32_t>(t.type), 4);
    append_le(head, offset, 8);
    // Every tensor, the last one included, is padded: ggml reads the data section padded.
    offset = *align_up(offset + t.n_bytes, alignment_);
  }

  OutputFile file(path);
  const auto pad_to_alignment = [&] {
    file.write_zeros(*align_up(file.size(), alignment_) - file.size());
  };
  file.write(head);
  pad_to_alignment();
  std::vector<std::byte> data;
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    data.clear();
    write_data(i, data);
    if (data.size() != tensors_[i].n_bytes) {
      throw Error(ErrorCode::kInternal, path.string() + ": tensor '" + tensors_[i].name +
                                            "': write_data appended " +
                                            std::to_string(data.size()) + " bytes, expected " +
                                            std::to_string(tensors_[i].n_bytes));
    }
    file.write(data);
    pad_to_alignment();
  }
  file.commit();
}

}  // namespace llama3::io
