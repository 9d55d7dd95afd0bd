// Typed access to GGUF metadata values. Accessors accept every stored width a writer might have
// chosen (llama.cpp stores counts as u32, gguf-py ints as i32, the spec suggests u64) and
// range-check.
#include <bit>
#include <limits>
#include <string>

#include "io/gguf.hpp"
#include "io/gguf_format.hpp"
#include "llama3/error.hpp"

namespace llama3::io {
namespace {

using gguf_format::fixed_size;
using gguf_format::is_integer;
using gguf_format::is_signed_integer;
using gguf_format::load_le;
using gguf_format::sign_extend;

[[noreturn]] void throw_type(std::string_view what, std::string_view expected, GgufValueType found,
                             GgufValueType element) {
  std::string found_name(gguf_value_type_name(found));
  if (found == GgufValueType::kArray)
    found_name += " of " + std::string(gguf_value_type_name(element));
  throw Error(ErrorCode::kBadFormat,
              std::string(what) + ": expected " + std::string(expected) + ", found " + found_name);
}

// An integer stored as `type` with raw little-endian `bits`, widened to signed or unsigned 64-bit.
struct WideInteger {
  bool negative;
  std::uint64_t magnitude_bits;  // the value itself when not negative; two's complement otherwise
};

WideInteger widen(GgufValueType type, std::uint64_t bits) {
  const std::size_t n = *fixed_size(static_cast<std::uint32_t>(type));
  if (is_signed_integer(type)) {
    const std::int64_t v = sign_extend(bits, n);
    return {v < 0, static_cast<std::uint64_t>(v)};
  }
  return {false, bits};
}

std::int64_t to_int64(GgufValueType type, std::uint64_t bits, std::string_view what) {
  const WideInteger w = widen(type, bits);
  if (!w.negative && w.magnitude_bits > std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
    throw Error(ErrorCode::kBadFormat, std::string(what) + ": value " +
                                           std::to_string(w.magnitude_bits) +
                                           " does not fit a signed 64-bit integer");
  }
  return static_cast<std::int64_t>(w.magnitude_bits);
}

double to_double(GgufValueType type, std::uint64_t bits) {
  if (type == GgufValueType::kFloat32) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(bits));
  }
  if (type == GgufValueType::kFloat64) return std::bit_cast<double>(bits);
  const WideInteger w = widen(type, bits);
  return w.negative ? static_cast<double>(static_cast<std::int64_t>(w.magnitude_bits))
                    : static_cast<double>(w.magnitude_bits);
}

bool is_number(GgufValueType type) {
  return is_integer(type) || type == GgufValueType::kFloat32 || type == GgufValueType::kFloat64;
}

}  // namespace

std::string_view gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::kUint8:
      return "uint8";
    case GgufValueType::kInt8:
      return "int8";
    case GgufValueType::kUint16:
      return "uint16";
    case GgufValueType::kInt16:
      return "int16";
    case GgufValueType::kUint32:
      return "uint32";
    case GgufValueType::kInt32:
      return "int32";
    case GgufValueType::kFloat32:
      return "float32";
    case GgufValueType::kBool:
      return "bool";
    case GgufValueType::kString:
      return "string";
    case GgufValueType::kArray:
      return "array";
    case GgufValueType::kUint64:
      return "uint64";
    case GgufValueType::kInt64:
      return "int64";
    case GgufValueType::kFloat64:
      return "float64";
  }
  return "unknown";
}

std::uint64_t GgufValue::as_uint(std::string_view what) const {
  if (!is_integer(type_)) throw_type(what, "an integer", type_, element_type_);
  const WideInteger w = widen(type_, bits_);
  if (w.negative) {
    throw Error(ErrorCode::kBadFormat,
                std::string(what) + ": negative value " +
                    std::to_string(static_cast<std::int64_t>(w.magnitude_bits)) +
                    " where an unsigned integer is expected");
  }
  return w.magnitude_bits;
}

std::int64_t GgufValue::as_int(std::string_view what) const {
  if (!is_integer(type_)) throw_type(what, "an integer", type_, element_type_);
  return to_int64(type_, bits_, what);
}

double GgufValue::as_float(std::string_view what) const {
  if (!is_number(type_)) throw_type(what, "a number", type_, element_type_);
  return to_double(type_, bits_);
}

bool GgufValue::as_bool(std::string_view what) const {
  if (type_ != GgufValueType::kBool) throw_type(what, "a bool", type_, element_type_);
  return bits_ != 0;
}

std::string_view GgufValue::as_string(std::string_view what) const {
  if (type_ != GgufValueType::kString) throw_type(what, "a string", type_, element_type_);
  return string_;
}

const std::vector<std::string_view>& GgufValue::strings(std::string_view what) const {
  if (!is_array() || element_type_ != GgufValueType::kString) {
    throw_type(what, "an array of strings", type_, element_type_);
  }
  return array_strings_;
}

std::vector<std::int64_t> GgufValue::ints(std::string_view what) const {
  if (!is_array() || !is_integer(element_type_)) {
    throw_type(what, "an array of integers", type_, element_type_);
  }
  const std::size_t width = *fixed_size(static_cast<std::uint32_t>(element_type_));
  std::vector<std::int64_t> out(array_size_);
  for (std::size_t i = 0; i < array_size_; ++i) {
    out[i] = to_int64(element_type_, load_le(array_data_ + i * width, width), what);
  }
  return out;
}

std::vector<float> GgufValue::floats(std::string_view what) const {
  if (!is_array() || !is_number(element_type_)) {
    throw_type(what, "an array of numbers", type_, element_type_);
  }
  const std::size_t width = *fixed_size(static_cast<std::uint32_t>(element_type_));
  std::vector<float> out(array_size_);
  for (std::size_t i = 0; i < array_size_; ++i) {
    out[i] = static_cast<float>(to_double(element_type_, load_le(array_data_ + i * width, width)));
  }
  return out;
}

const std::vector<GgufValue>& GgufValue::arrays(std::string_view what) const {
  if (!is_array() || element_type_ != GgufValueType::kArray) {
    throw_type(what, "an array of arrays", type_, element_type_);
  }
  return array_arrays_;
}

}  // namespace llama3::io
