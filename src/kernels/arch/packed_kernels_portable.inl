// Portable C++ kernels over packed weights, written so the compiler vectorises the 16-row inner
// loops. Included once per arch file with LLAMA3_PACKED_ARCH naming the namespace; each file is
// compiled with that arch's flags (sse4: the x86-64-v2 baseline; avx2: + AVX2, FMA, F16C).
#include <algorithm>
#include <array>

#include "kernels/arch/packed_kernels.hpp"
#include "kernels/half_float.hpp"

namespace llama3::kernels::LLAMA3_PACKED_ARCH {
namespace {

// One weight group against one token: 16 rows, every block.  out: [16]
void int_group_token(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group,
                     std::size_t token, std::array<float, kPackedGroupRows>& out) {
  const IntBlockFormat& f = w.format();
  const std::size_t B = f.block_values;
  const std::size_t cols = w.cols();
  const std::size_t nb = cols / B;
  const std::size_t chunks = B / 4;
  const std::uint16_t* scales = w.group_scales(group);
  const std::uint16_t* mins = w.group_mins(group);
  const std::uint8_t* data = w.group_data(group);
  const std::size_t block_bytes = w.block_data_bytes();
  std::array<float, kPackedGroupRows> acc{};
  for (std::size_t b = 0; b < nb; ++b) {
    const std::int8_t* q = x.qs.data() + token * cols + b * B;
    const std::uint8_t* block = data + b * block_bytes;
    std::array<std::int32_t, kPackedGroupRows> sum;
    sum.fill(x.block_init[token * nb + b]);
    for (std::size_t c = 0; c < chunks; ++c) {
      // Chunk c of the block: with nibbles, chunks of the second half sit in the high nibbles.
      const std::uint8_t* bytes = block + 64 * (f.nibbles ? c % (chunks / 2) : c);
      const int shift = f.nibbles && c >= chunks / 2 ? 4 : 0;
      const int mask = f.nibbles ? 0x0F : 0xFF;
      for (std::size_t i = 0; i < kPackedGroupRows; ++i) {
        std::int32_t s = 0;
        for (std::size_t m = 0; m < 4; ++m)
          s += ((bytes[4 * i + m] >> shift) & mask) * q[4 * c + m];
        sum[i] += s;
      }
    }
    const float d = x.block_scales[token * nb + b];
    const float block_sum = x.block_sums[token * nb + b];
    for (std::size_t i = 0; i < kPackedGroupRows; ++i) {
      acc[i] += static_cast<float>(sum[i]) * (f16_to_f32(scales[b * kPackedGroupRows + i]) * d);
      if (f.has_mins) acc[i] += f16_to_f32(mins[b * kPackedGroupRows + i]) * block_sum;
    }
  }
  out = acc;
}

}  // namespace

void int_block_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                      std::size_t group_end, float* y) {
  std::array<float, kPackedGroupRows> out;
  for (std::size_t g = group_begin; g < group_end; ++g) {
    const std::size_t first_row = g * kPackedGroupRows;
    const std::size_t valid = std::min(kPackedGroupRows, w.rows() - first_row);
    for (std::size_t t = 0; t < x.n_tokens; ++t) {
      int_group_token(w, x, g, t, out);
      std::copy_n(out.begin(), valid, y + t * w.rows() + first_row);
    }
  }
}

}  // namespace llama3::kernels::LLAMA3_PACKED_ARCH
