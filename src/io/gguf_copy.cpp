#include "io/gguf_copy.hpp"

#include "llama3/error.hpp"

namespace llama3::io {
namespace {

bool is_signed(GgufValueType type) {
  return type == GgufValueType::kInt8 || type == GgufValueType::kInt16 ||
         type == GgufValueType::kInt32 || type == GgufValueType::kInt64;
}

GgufArrayBuilder array_of(const std::string& key, const GgufValue& value) {
  GgufArrayBuilder builder(value.element_type());
  switch (value.element_type()) {
    case GgufValueType::kString:
      for (auto text : value.strings(key)) builder.add_string(text);
      break;
    case GgufValueType::kFloat32:
    case GgufValueType::kFloat64:
      for (float number : value.floats(key)) builder.add_float(number);
      break;
    case GgufValueType::kArray:
      for (const auto& inner : value.arrays(key)) builder.add_array(array_of(key, inner));
      break;
    case GgufValueType::kBool:
      throw Error(ErrorCode::kUnsupported, key + ": arrays of bools are not copied");
    default:
      for (std::int64_t number : value.ints(key)) {
        if (is_signed(value.element_type())) {
          builder.add_int(number);
        } else {
          builder.add_uint(static_cast<std::uint64_t>(number));
        }
      }
  }
  return builder;
}

}  // namespace

void copy_gguf_value(GgufWriter& writer, const std::string& key, const GgufValue& value) {
  switch (value.type()) {
    case GgufValueType::kUint8:
      writer.set_uint8(key, static_cast<std::uint8_t>(value.as_uint(key)));
      return;
    case GgufValueType::kInt8:
      writer.set_int8(key, static_cast<std::int8_t>(value.as_int(key)));
      return;
    case GgufValueType::kUint16:
      writer.set_uint16(key, static_cast<std::uint16_t>(value.as_uint(key)));
      return;
    case GgufValueType::kInt16:
      writer.set_int16(key, static_cast<std::int16_t>(value.as_int(key)));
      return;
    case GgufValueType::kUint32:
      writer.set_uint32(key, static_cast<std::uint32_t>(value.as_uint(key)));
      return;
    case GgufValueType::kInt32:
      writer.set_int32(key, static_cast<std::int32_t>(value.as_int(key)));
      return;
    case GgufValueType::kUint64:
      writer.set_uint64(key, value.as_uint(key));
      return;
    case GgufValueType::kInt64:
      writer.set_int64(key, value.as_int(key));
      return;
    case GgufValueType::kFloat32:
      writer.set_float32(key, static_cast<float>(value.as_float(key)));
      return;
    case GgufValueType::kFloat64:
      writer.set_float64(key, value.as_float(key));
      return;
    case GgufValueType::kBool:
      writer.set_bool(key, value.as_bool(key));
      return;
    case GgufValueType::kString:
      writer.set_string(key, std::string(value.as_string(key)));
      return;
    case GgufValueType::kArray:
      writer.set_array(key, array_of(key, value));
      return;
  }
  throw Error(ErrorCode::kInternal, key + ": unknown value type");
}

}  // namespace llama3::io
