#include "kernels/kv_q8_0.hpp"

#include <algorithm>
#include <array>

#include "kernels/quantize_blocks.hpp"

namespace llama3::kernels {

void quantize_q8_0_row(const float* x, std::size_t n, BlockQ8_0* out) {
  for (std::size_t first = 0; first < n; first += kLegacyBlockValues) {
    const std::size_t count = std::min(kLegacyBlockValues, n - first);
    if (count == kLegacyBlockValues) {
      *out++ = reference::round_block_q8_0(x + first);
      continue;
    }
    std::array<float, kLegacyBlockValues> padded{};  // zeros leave the block's scale as it is
    std::copy_n(x + first, count, padded.begin());
    *out++ = reference::round_block_q8_0(padded.data());
  }
}

void dequantize_q8_0_row(const BlockQ8_0* row, std::size_t n, float* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = q8_0_value(row, i);
}

}  // namespace llama3::kernels
