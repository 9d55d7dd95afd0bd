// The K-quants' packed super-block layout (k_quant_layout.hpp) read back value by value: every
// packed value, decoded as the layout comment describes, equals the reference dequantization
// exactly, and padding rows of a partial group are all zero.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "kernels/half_float.hpp"
#include "kernels/k_quant_layout.hpp"
#include "kernels/matmul.hpp"
#include "kernels/packed_matrix.hpp"
#include "kernels/reference.hpp"
#include "support/quant_test_support.hpp"
#include "support/random_weight_matrix.hpp"

using llama3::io::TensorType;
using namespace llama3::kernels;
using namespace llama3::test;

namespace {

float f16_at(const std::uint8_t* at) {
  std::uint16_t bits;
  std::memcpy(&bits, at, 2);
  return f16_to_f32(bits);
}

// Value j of row i of group g, in the reference's arithmetic (d * scale * q - dmin * min for
// Q4_K/Q5_K, d * scale * (q - 32) for Q6_K). `all_zero` says whether every byte read was zero.
float packed_value(const PackedMatrix& p, std::size_t g, std::size_t i, std::size_t j,
                   bool& all_zero) {
  const TensorType type = p.type();
  const std::size_t s = j / kKSuperValues;
  const std::size_t v = j % kKSuperValues;
  const std::size_t chunk = v / 4, slot = 4 * i + v % 4;
  const std::uint8_t* scales = p.group_super_scales(g) + s * k_quant_scale_bytes(type);
  const std::uint8_t* data = p.group_data(g) + s * k_quant_data_bytes(type);
  const float d = f16_at(scales + 2 * i);
  if (type == TensorType::kQ6_K) {
    const std::size_t c = chunk % 32;  // value chunk within the half
    const std::uint8_t* half = data + (chunk / 32) * kQ6KHalfBytes;
    const std::size_t nibble_chunk = c % 16;
    const std::uint8_t nibbles =
        half[(nibble_chunk < 8 ? 0 : kQ6KSecondNibbleOffset) + (nibble_chunk % 8) * 64 + slot];
    const std::uint8_t pairs = half[kQ6KPairOffset + (c % 8) * 64 + slot];
    const int q = ((nibbles >> (4 * (c / 16))) & 0xF) | (((pairs >> (2 * (c / 8))) & 3) << 4);
    const auto scale = static_cast<std::int8_t>(scales[kQ6KSubScaleOffset + 16 * (v / 16) + i]);
    all_zero = d == 0.0f && nibbles == 0 && pairs == 0 && scale == 0;
    return d * static_cast<float>(scale) * static_cast<float>(q - 32);
  }
  const std::size_t sub = chunk / 8, c = chunk % 8;
  const bool q5 = type == TensorType::kQ5_K;
  const std::uint8_t nibbles = data[(q5 ? kQ5KHighBitBytes : 0) + (8 * (sub / 2) + c) * 64 + slot];
  const std::uint8_t high = q5 ? data[c * 64 + slot] : 0;
  const int q = ((nibbles >> (4 * (sub % 2))) & 0xF) | (((high >> sub) & 1) << 4);
  const float dmin = f16_at(scales + kKMinOffset + 2 * i);
  const std::uint8_t scale = scales[kKSubScaleOffset + 32 * sub + i];
  const std::uint8_t min = scales[kKSubScaleOffset + 32 * sub + 16 + i];
  all_zero = d == 0.0f && dmin == 0.0f && nibbles == 0 && high == 0 && scale == 0 && min == 0;
  return d * static_cast<float>(scale) * static_cast<float>(q) - dmin * static_cast<float>(min);
}

}  // namespace

TEST_CASE("packed K-quant super-blocks read back as the reference values", "[kernels][pack]") {
  ThreadPool pool(2);
  const unsigned seed = 20261130;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (const TensorType type : {TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K}) {
    for (const std::size_t rows : {std::size_t{1}, std::size_t{23}, std::size_t{48}}) {
      const std::size_t cols = 512;
      CAPTURE(std::string(llama3::io::traits_of(type).name), rows);
      const auto source = random_weight_matrix(rng, type, rows, cols);
      const std::size_t row_bytes = source.matrix.row_bytes;
      const std::uint8_t* stored = source.stored.data();
      const auto packed = pack_weight_matrix(source.matrix, pool);
      std::vector<float> expected(cols);
      std::size_t mismatches = 0;
      for (std::size_t g = 0; g < packed->n_groups(); ++g) {
        for (std::size_t i = 0; i < kPackedGroupRows; ++i) {
          const std::size_t r = g * kPackedGroupRows + i;
          if (r < rows)
            reference::dequantize_row(type, stored + r * row_bytes, expected.data(), cols);
          for (std::size_t j = 0; j < cols; ++j) {
            bool all_zero = false;
            const float value = packed_value(*packed, g, i, j, all_zero);
            mismatches += r < rows ? value != expected[j] : !all_zero;
          }
        }
      }
      CHECK(mismatches == 0);
    }
  }
}
