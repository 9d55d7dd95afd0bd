// GGUF files (v2 and v3): a validating reader over a memory-mapped file, and a writer.
// Layout and value types: docs/facts.md §4. Every count, length, offset and size is checked
// before use; a malformed file is a llama3::Error (kBadFormat) whose message names the key or
// tensor at fault.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/mapped_file.hpp"
#include "io/tensor_type.hpp"

namespace llama3::io {

enum class GgufValueType : std::uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

std::string_view gguf_value_type_name(GgufValueType type);

// One metadata value as read from a file. Strings are views into the mapped file (no copies), so a
// value lives as long as its GgufFile.
class GgufValue {
 public:
  GgufValueType type() const { return type_; }

  // Any integer type, range-checked into the requested type; throws kBadFormat naming `what`
  // otherwise.
  std::uint64_t as_uint(std::string_view what) const;
  std::int64_t as_int(std::string_view what) const;
  double as_float(std::string_view what) const;  // FLOAT32/FLOAT64 (and integers)
  bool as_bool(std::string_view what) const;
  std::string_view as_string(std::string_view what) const;

  // Arrays. element_type() is the array's element type; size() its count.
  bool is_array() const { return type_ == GgufValueType::kArray; }
  GgufValueType element_type() const { return element_type_; }
  std::size_t size() const { return array_size_; }
  // The elements of an array of strings.
  const std::vector<std::string_view>& strings(std::string_view what) const;
  // The elements of an array of any integer type, widened.
  std::vector<std::int64_t> ints(std::string_view what) const;
  // The elements of an array of floats or integers, as f32.
  std::vector<float> floats(std::string_view what) const;
  // The elements of an array of arrays (nested arrays are allowed by the format).
  const std::vector<GgufValue>& arrays(std::string_view what) const;

 private:
  friend class GgufParser;
  GgufValueType type_ = GgufValueType::kUint8;
  GgufValueType element_type_ = GgufValueType::kUint8;  // arrays only
  std::uint64_t bits_ = 0;   // scalar payload: integer bits, double bits, or bool
  std::string_view string_;  // kString
  std::size_t array_size_ = 0;
  const std::byte* array_data_ = nullptr;  // numeric arrays: packed little-endian elements
  std::vector<std::string_view> array_strings_;
  std::vector<GgufValue> array_arrays_;
};

struct GgufKeyValue {
  std::string_view key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string name;
  std::uint32_t n_dims = 0;
  std::array<std::uint64_t, 4> ne{1, 1, 1, 1};  // innermost first: ne[0] is the row length
  TensorType type = TensorType::kF32;
  std::uint64_t offset = 0;         // from the start of the data section
  std::uint64_t n_bytes = 0;        // validated against the file size
  const std::byte* data = nullptr;  // points into the mapped file

  std::uint64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

class GgufFile {
 public:
  // Opens and validates a file. Throws kIo (cannot open) or kBadFormat (malformed; the message
  // names the file and the key or tensor).
  static GgufFile open(const std::filesystem::path& path, const MapOptions& options = {});
  // Parses bytes already in memory (tests, fuzzing).
  static GgufFile parse(std::shared_ptr<const MappedFile> file);

  std::uint32_t version() const { return version_; }
  std::uint64_t alignment() const { return alignment_; }
  const std::string& name() const { return file_->name(); }

  const std::vector<GgufKeyValue>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;  // nullptr when absent
  const GgufValue& get(std::string_view key) const;   // throws kBadFormat "missing key ..."

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;  // nullptr when absent

  const std::shared_ptr<const MappedFile>& file() const { return file_; }

 private:
  friend class GgufParser;
  std::shared_ptr<const MappedFile> file_;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = 32;
  std::vector<GgufKeyValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  // Lookups by name; keys are views into the mapped file, so they stay valid when the vectors move.
  std::unordered_map<std::string_view, std::size_t> key_index_;
  std::unordered_map<std::string_view, std::size_t> tensor_index_;
};

// An array value for GgufWriter::set_array: any element type, including strings and nested arrays.
// Elements are encoded as they are added; adding one of the wrong kind (or an integer out of the
// element type's range) throws kInvalidArgument.
class GgufArrayBuilder {
 public:
  explicit GgufArrayBuilder(GgufValueType element_type);

  GgufArrayBuilder& add_uint(std::uint64_t value);  // unsigned or signed integer element types
  GgufArrayBuilder& add_int(std::int64_t value);    // unsigned or signed integer element types
  GgufArrayBuilder& add_float(double value);        // kFloat32 (rounded) or kFloat64
  GgufArrayBuilder& add_bool(bool value);
  GgufArrayBuilder& add_string(std::string_view value);
  GgufArrayBuilder& add_array(const GgufArrayBuilder& value);  // element type kArray

  GgufValueType element_type() const { return element_type_; }
  std::uint64_t size() const { return count_; }
  // The array in file form: element type, count, elements.
  std::vector<std::byte> encode() const;

 private:
  void expect(bool ok, std::string_view what) const;
  GgufValueType element_type_;
  std::uint64_t count_ = 0;
  std::vector<std::byte> elements_;  // encoded elements
};

// Writes GGUF v3. Metadata and tensor infos are collected first; tensor data is then streamed in
// the order the tensors were added, so a converter never holds more than one tensor in memory.
class GgufWriter {
 public:
  // `alignment` must be a nonzero power of two (kInvalidArgument otherwise). general.alignment is
  // written only when it differs from the GGUF default of 32, as readers assume 32 when it is
  // absent.
  explicit GgufWriter(std::uint64_t alignment = 32);

  // Keys must be unique; general.alignment is written by the writer itself (see the constructor).
  void set_uint8(std::string key, std::uint8_t value);
  void set_int8(std::string key, std::int8_t value);
  void set_uint16(std::string key, std::uint16_t value);
  void set_int16(std::string key, std::int16_t value);
  void set_uint32(std::string key, std::uint32_t value);
  void set_int32(std::string key, std::int32_t value);
  void set_uint64(std::string key, std::uint64_t value);
  void set_int64(std::string key, std::int64_t value);
  void set_float32(std::string key, float value);
  void set_float64(std::string key, double value);
  void set_bool(std::string key, bool value);
  void set_string(std::string key, std::string value);
  void set_string_array(std::string key, std::vector<std::string> values);
  void set_int32_array(std::string key, std::vector<std::int32_t> values);
  void set_float32_array(std::string key, std::vector<float> values);
  void set_array(std::string key, const GgufArrayBuilder& array);

  // Declares a tensor; ne innermost first (1 to 4 nonzero dims). Throws kInvalidArgument when ne[0]
  // is not a multiple of the type's block, the name is empty, longer than 63 bytes or already used.
  void add_tensor(std::string name, std::span<const std::uint64_t> ne, TensorType type);

  // Writes header, metadata and tensor infos, then calls `write_data(i, out)` once per tensor in
  // order; it must append exactly that tensor's byte size to `out` (kInternal otherwise). Throws
  // kIo on write failure. The file is written to `path` + ".tmp" and renamed, so a failure never
  // leaves a partial file at `path`.
  void write(const std::filesystem::path& path,
             const std::function<void(std::size_t tensor_index, std::vector<std::byte>& out)>&
                 write_data) const;

 private:
  void add_metadata(std::string key, GgufValueType type, std::vector<std::byte> value);
  struct MetadataEntry {
    std::string key;
    std::vector<std::byte> encoded;  // value type + value, already in file form
  };
  struct PendingTensor {
    std::string name;
    std::vector<std::uint64_t> ne;
    TensorType type;
    std::uint64_t n_bytes;
  };
  std::uint64_t alignment_;
  std::vector<MetadataEntry> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace llama3::io
