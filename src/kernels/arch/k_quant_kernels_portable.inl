// Portable C++ kernels over the K-quants' super-block layout (k_quant_layout.hpp), with the
// AVX-512 kernels' arithmetic per sub-block: int32 sum, then (d * sub-scale) * activation scale,
// and -dmin * min times the activation block sum. Included once per arch file with
// LLAMA3_PACKED_ARCH naming the namespace (see packed_kernels_portable.inl).
#include <algorithm>
#include <array>
#include <cstring>

#include "kernels/arch/k_quant_kernels.hpp"
#include "kernels/half_float.hpp"
#include "kernels/k_quant_layout.hpp"

namespace llama3::kernels::LLAMA3_PACKED_ARCH {
namespace {

using io::TensorType;

// Unsigned quant m (0..3) of value chunk `chunk` (0..63) of row `row` in a packed super-block.
template <TensorType kType>
int k_quant(const std::uint8_t* data, std::size_t chunk, std::size_t row, std::size_t m) {
  const std::size_t slot = 4 * row + m;
  if constexpr (kType == TensorType::kQ6_K) {
    const std::size_t c = chunk % 32;
    const std::uint8_t* half = data + (chunk / 32) * kQ6KHalfBytes;
    const std::size_t nibble_chunk = c % 16;
    const std::uint8_t* nibbles =
        half + (nibble_chunk < 8 ? 0 : kQ6KSecondNibbleOffset) + (nibble_chunk % 8) * kKChunkBytes;
    const int low = nibbles[slot] >> (4 * (c / 16)) & 0xF;
    const int high = half[kQ6KPairOffset + (c % 8) * kKChunkBytes + slot] >> (2 * (c / 8)) & 3;
    return low | high << 4;
  } else {
    const std::size_t sub = chunk / 8, j = chunk % 8;
    const std::size_t nibbles = kType == TensorType::kQ5_K ? kQ5KHighBitBytes : 0;
    int value = data[nibbles + (8 * (sub / 2) + j) * kKChunkBytes + slot] >> (4 * (sub % 2)) & 0xF;
    if constexpr (kType == TensorType::kQ5_K) {
      value |= (data[j * kKChunkBytes + slot] >> sub & 1) << 4;
    }
    return value;
  }
}

float f16_at(const std::uint8_t* at) {
  std::uint16_t bits;
  std::memcpy(&bits, at, 2);
  return f16_to_f32(bits);
}

// One weight group against one token: 16 rows, every super-block.  out: [16]
template <TensorType kType>
void k_group_token(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group,
                   std::size_t token, std::array<float, kPackedGroupRows>& out) {
  constexpr bool kQ6 = kType == TensorType::kQ6_K;
  constexpr std::size_t kSubValues = kQ6 ? 16 : 32;
  constexpr std::size_t kSubs = kKSuperValues / kSubValues;
  constexpr std::size_t kScaleBytes = k_quant_scale_bytes(kType);
  constexpr std::size_t kDataBytes = k_quant_data_bytes(kType);
  const std::size_t cols = w.cols();
  const std::size_t nb = cols / kSubValues;
  std::array<float, kPackedGroupRows> acc{};
  for (std::size_t s = 0; s < w.super_blocks_per_row(); ++s) {
    const std::uint8_t* scales = w.group_super_scales(group) + s * kScaleBytes;
    const std::uint8_t* data = w.group_data(group) + s * kDataBytes;
    for (std::size_t sub = 0; sub < kSubs; ++sub) {
      const std::size_t b = token * nb + s * kSubs + sub;
      std::array<std::int32_t, kPackedGroupRows> sum;
      sum.fill(kQ6 ? x.block_init[b] : 0);
      for (std::size_t c = 0; c < kSubValues / 4; ++c) {
        const std::size_t chunk = sub * kSubValues / 4 + c;
        const std::int8_t* q = x.qs.data() + token * cols + s * kKSuperValues + 4 * chunk;
        for (std::size_t i = 0; i < kPackedGroupRows; ++i) {
          std::int32_t dot = 0;
          for (std::size_t m = 0; m < 4; ++m) dot += k_quant<kType>(data, chunk, i, m) * q[m];
          sum[i] += dot;
        }
      }
      for (std::size_t i = 0; i < kPackedGroupRows; ++i) {
        const float d = f16_at(scales + 2 * i);
        if constexpr (kQ6) {
          const auto sc = static_cast<std::int8_t>(scales[kQ6KSubScaleOffset + 16 * sub + i]);
          const float scale = d * static_cast<float>(sc);
          acc[i] += static_cast<float>(sum[i]) * (scale * x.block_scales[b]);
        } else {
          const std::uint8_t* sub_scales = scales + kKSubScaleOffset + 32 * sub;
          const float scale = d * static_cast<float>(sub_scales[i]);
          const float min =
              -f16_at(scales + kKMinOffset + 2 * i) * static_cast<float>(sub_scales[16 + i]);
          acc[i] += static_cast<float>(sum[i]) * (scale * x.block_scales[b]);
          acc[i] += min * x.block_sums[b];
        }
      }
    }
  }
  out = acc;
}

template <TensorType kType>
void k_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
              std::size_t group_end, float* y) {
  std::array<float, kPackedGroupRows> out;
  for (std::size_t g = group_begin; g < group_end; ++g) {
    const std::size_t first_row = g * kPackedGroupRows;
    const std::size_t valid = std::min(kPackedGroupRows, w.rows() - first_row);
    for (std::size_t t = 0; t < x.n_tokens; ++t) {
      k_group_token<kType>(w, x, g, t, out);
      std::copy_n(out.begin(), valid, y + t * w.rows() + first_row);
    }
  }
}

}  // namespace

void k_quant_matmul(const PackedMatrix& w, const QuantizedActivations& x, std::size_t group_begin,
                    std::size_t group_end, float* y) {
  switch (w.type()) {
    case TensorType::kQ4_K:
      return k_matmul<TensorType::kQ4_K>(w, x, group_begin, group_end, y);
    case TensorType::kQ5_K:
      return k_matmul<TensorType::kQ5_K>(w, x, group_begin, group_end, y);
    default:
      return k_matmul<TensorType::kQ6_K>(w, x, group_begin, group_end, y);
  }
}

}  // namespace llama3::kernels::LLAMA3_PACKED_ARCH
