// The packed layout's contract, read back value by value: for the 32-value legacy types every
// packed value scale * (q - zero_point) + min equals the reference dequantization exactly, and
// padding rows of a partial group hold the zero point with zero scales. This pins the direct
// byte-shuffle packers (Q4_0, Q4_1, Q8_0) and the generic decoder (Q5_0, Q5_1) to one layout.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "kernels/half_float.hpp"
#include "kernels/matmul.hpp"
#include "kernels/packed_matrix.hpp"
#include "kernels/reference.hpp"
#include "support/quant_test_support.hpp"
#include "support/random_weight_matrix.hpp"

using llama3::io::TensorType;
using namespace llama3::kernels;
using namespace llama3::test;

namespace {

// Value j of row i of group g, decoded from the packed bytes as documented in packed_matrix.cpp.
struct PackedValue {
  int q;
  float scale;
  float min;
};

PackedValue packed_value(const PackedMatrix& p, std::size_t g, std::size_t i, std::size_t j) {
  const IntBlockFormat& f = p.format();
  const std::size_t B = f.block_values;
  const std::size_t b = j / B;
  const std::size_t v = j % B;  // value within the block
  const std::size_t chunk = v / 4;
  const std::size_t n_chunks = B / 4;
  const std::uint8_t* block = p.group_data(g) + b * p.block_data_bytes();
  int q;
  if (!f.nibbles) {
    q = block[64 * chunk + 4 * i + v % 4];
  } else if (chunk < n_chunks / 2) {
    q = block[64 * chunk + 4 * i + v % 4] & 0xF;
  } else {
    q = block[64 * (chunk - n_chunks / 2) + 4 * i + v % 4] >> 4;
  }
  const float scale = f16_to_f32(p.group_scales(g)[b * kPackedGroupRows + i]);
  const float min = f.has_mins ? f16_to_f32(p.group_mins(g)[b * kPackedGroupRows + i]) : 0.0f;
  return {q, scale, min};
}

}  // namespace

TEST_CASE("packed legacy blocks read back as the reference values", "[kernels][pack]") {
  ThreadPool pool(2);
  std::mt19937 rng(20261127);
  for (const TensorType type : {TensorType::kQ4_0, TensorType::kQ4_1, TensorType::kQ8_0,
                                TensorType::kQ5_0, TensorType::kQ5_1}) {
    for (const std::size_t rows : {std::size_t{1}, std::size_t{23}, std::size_t{48}}) {
      const std::size_t cols = 96;
      CAPTURE(std::string(llama3::io::traits_of(type).name), rows);
      const auto source = random_weight_matrix(rng, type, rows, cols);
      const std::size_t row_bytes = source.matrix.row_bytes;
      const std::uint8_t* stored = source.stored.data();
      const auto packed = pack_weight_matrix(source.matrix, pool);
      const int zero_point = packed->format().zero_point;
      std::vector<float> expected(cols);
      std::size_t mismatches = 0;
      for (std::size_t g = 0; g < packed->n_groups(); ++g) {
        for (std::size_t i = 0; i < kPackedGroupRows; ++i) {
          const std::size_t r = g * kPackedGroupRows + i;
          if (r < rows)
            reference::dequantize_row(type, stored + r * row_bytes, expected.data(), cols);
          for (std::size_t j = 0; j < cols; ++j) {
            const PackedValue p = packed_value(*packed, g, i, j);
            if (r >= rows) {
              mismatches += p.q != zero_point || p.scale != 0.0f || p.min != 0.0f;
            } else {
              const float value = p.scale * static_cast<float>(p.q - zero_point) + p.min;
              mismatches += value != expected[j];
            }
          }
        }
      }
      CHECK(mismatches == 0);
    }
  }
}
