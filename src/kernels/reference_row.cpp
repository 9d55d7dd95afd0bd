#include "kernels/reference_row.hpp"

#include <string>

#include "kernels/reference.hpp"
#include "llama3/error.hpp"

namespace llama3::kernels::reference {
namespace {

std::string type_name(io::TensorType type) {
  const auto id = static_cast<std::uint32_t>(type);
  if (const auto traits = io::tensor_type_traits(id)) return std::string(traits->name);
  return "type id " + std::to_string(id);
}

}  // namespace

bool is_supported_weight_type(io::TensorType type) {
  switch (type) {
    case io::TensorType::kF32:
    case io::TensorType::kF16:
    case io::TensorType::kBF16:
    case io::TensorType::kQ8_0:
    case io::TensorType::kQ4_0:
    case io::TensorType::kQ4_1:
    case io::TensorType::kQ5_0:
    case io::TensorType::kQ5_1:
    case io::TensorType::kQ4_K:
    case io::TensorType::kQ5_K:
    case io::TensorType::kQ6_K:
      return true;
    default:
      return false;
  }
}

RowShape checked_row_shape(io::TensorType type, std::size_t n, const char* operation) {
  if (!is_supported_weight_type(type)) {
    throw Error(ErrorCode::kUnsupported,
                std::string(operation) + ": tensor type " + type_name(type) + " is not supported");
  }
  const auto& traits = io::traits_of(type);
  if (n % traits.block_size != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(operation) + ": a " + type_name(type) + " row of " + std::to_string(n) +
                    " values is not a whole number of " + std::to_string(traits.block_size) +
                    "-value blocks");
  }
  return {traits.block_size, traits.block_bytes, n / traits.block_size};
}

}  // namespace llama3::kernels::reference
