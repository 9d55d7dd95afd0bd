#include "io/tensor_type.hpp"

#include <array>
#include <cctype>
#include <cstdint>

#include "llama3/error.hpp"

namespace llama3::io {
namespace {

constexpr std::array<TensorTypeTraits, 20> kKnownTypes = {{
    {TensorType::kF32, "f32", 1, 4},
    {TensorType::kF16, "f16", 1, 2},
    {TensorType::kQ4_0, "q4_0", 32, 18},
    {TensorType::kQ4_1, "q4_1", 32, 20},
    {TensorType::kQ5_0, "q5_0", 32, 22},
    {TensorType::kQ5_1, "q5_1", 32, 24},
    {TensorType::kQ8_0, "q8_0", 32, 34},
    {TensorType::kQ8_1, "q8_1", 32, 36},
    {TensorType::kQ2_K, "q2_K", 256, 84},
    {TensorType::kQ3_K, "q3_K", 256, 110},
    {TensorType::kQ4_K, "q4_K", 256, 144},
    {TensorType::kQ5_K, "q5_K", 256, 176},
    {TensorType::kQ6_K, "q6_K", 256, 210},
    {TensorType::kQ8_K, "q8_K", 256, 292},
    {TensorType::kI8, "i8", 1, 1},
    {TensorType::kI16, "i16", 1, 2},
    {TensorType::kI32, "i32", 1, 4},
    {TensorType::kI64, "i64", 1, 8},
    {TensorType::kF64, "f64", 1, 8},
    {TensorType::kBF16, "bf16", 1, 2},
}};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<TensorTypeTraits> tensor_type_traits(std::uint32_t type_id) {
  for (const auto& traits : kKnownTypes) {
    if (static_cast<std::uint32_t>(traits.type) == type_id) return traits;
  }
  return std::nullopt;
}

const TensorTypeTraits& traits_of(TensorType type) {
  for (const auto& traits : kKnownTypes) {
    if (traits.type == type) return traits;
  }
  throw Error(ErrorCode::kInternal,
              "unknown tensor type id " + std::to_string(static_cast<std::uint32_t>(type)));
}

std::optional<TensorType> tensor_type_from_name(std::string_view name) {
  for (const auto& traits : kKnownTypes) {
    if (equal_ignoring_case(traits.name, name)) return traits.type;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> row_bytes(TensorType type, std::uint64_t n) {
  const auto& traits = traits_of(type);
  if (n % traits.block_size != 0) return std::nullopt;
  const std::uint64_t blocks = n / traits.block_size;
  if (blocks > UINT64_MAX / traits.block_bytes) return std::nullopt;  // would overflow
  return blocks * traits.block_bytes;
}

}  // namespace llama3::io
