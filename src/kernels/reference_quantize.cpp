// quantize_row: plain types convert value by value (round to nearest even); quant types go block by
// block through the per-type quantizers of quantize_blocks.hpp.
#include <cstring>
#include <type_traits>

#include "kernels/half_float.hpp"
#include "kernels/quantize_blocks.hpp"
#include "kernels/reference.hpp"
#include "kernels/reference_row.hpp"

namespace llama3::kernels::reference {
namespace {

template <typename Quantize>
void quantize_blocks(const float* in, void* packed, const RowShape& shape, Quantize quantize) {
  auto* bytes = static_cast<std::byte*>(packed);
  for (std::size_t b = 0; b < shape.n_blocks; ++b) {
    const auto block = quantize(in + b * shape.block_values);
    static_assert(std::is_trivially_copyable_v<decltype(block)>);
    std::memcpy(bytes + b * shape.block_bytes, &block, sizeof(block));
  }
}

void store_u16(std::byte* bytes, std::size_t index, std::uint16_t value) {
  std::memcpy(bytes + index * sizeof(value), &value, sizeof(value));
}

}  // namespace

void quantize_row(io::TensorType type, const float* in, void* packed, std::size_t n) {
  const RowShape shape = checked_row_shape(type, n, "quantize_row");
  auto* bytes = static_cast<std::byte*>(packed);
  switch (type) {
    case io::TensorType::kF32:
      std::memcpy(packed, in, n * sizeof(float));
      return;
    case io::TensorType::kF16:
      for (std::size_t i = 0; i < n; ++i) store_u16(bytes, i, f32_to_f16(in[i]));
      return;
    case io::TensorType::kBF16:
      for (std::size_t i = 0; i < n; ++i) store_u16(bytes, i, f32_to_bf16(in[i]));
      return;
    case io::TensorType::kQ8_0:
      return quantize_blocks(in, packed, shape, quantize_block_q8_0);
    case io::TensorType::kQ4_0:
      return quantize_blocks(in, packed, shape, quantize_block_q4_0);
    case io::TensorType::kQ4_1:
      return quantize_blocks(in, packed, shape, quantize_block_q4_1);
    case io::TensorType::kQ5_0:
      return quantize_blocks(in, packed, shape, quantize_block_q5_0);
    case io::TensorType::kQ5_1:
      return quantize_blocks(in, packed, shape, quantize_block_q5_1);
    case io::TensorType::kQ4_K:
      return quantize_blocks(in, packed, shape, quantize_block_q4_k);
    case io::TensorType::kQ5_K:
      return quantize_blocks(in, packed, shape, quantize_block_q5_k);
    case io::TensorType::kQ6_K:
      return quantize_blocks(in, packed, shape, quantize_block_q6_k);
    default:
      return;  // checked_row_shape has thrown for every other type
  }
}

}  // namespace llama3::kernels::reference
