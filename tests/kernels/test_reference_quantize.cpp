#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/half_float.hpp"
#include "kernels/reference.hpp"
#include "support/quant_test_support.hpp"

using llama3::io::TensorType;
using namespace llama3::kernels::reference;
using namespace llama3::test;

namespace {

std::vector<float> round_trip(TensorType type, const std::vector<float>& x) {
  std::vector<std::uint8_t> packed(packed_bytes(type, x.size()));
  quantize_row(type, x.data(), packed.data(), x.size());
  std::vector<float> y(x.size());
  dequantize_row(type, packed.data(), y.data(), y.size());
  return y;
}

double relative_rmse(const std::vector<float>& x, const std::vector<float>& y) {
  double error = 0.0, energy = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    error += (static_cast<double>(y[i]) - x[i]) * (static_cast<double>(y[i]) - x[i]);
    energy += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(error / energy);
}

struct RmseBound {
  TensorType type;
  double bound;
};

}  // namespace

// Bounds: a uniform quantizer with step s has RMS error s / sqrt(12). For 32 normal values the
// block amax is about 2.1 sigma, so Q8_0's step is 2.1/127 sigma (error ~0.5%), Q4_0's 2.1/8
// (~7.5%), Q5_0's half that; Q4_1/Q5_1 spread the min..max range (~4.2 sigma) over 15/31 steps. The
// K-quants fit each sub-block by least squares, so they land below their legacy cousins despite
// 6-bit scales. Each bound leaves ~20-30% headroom over the value measured with this seed (see
// docs/quant-formats.md).
TEST_CASE("quantize then dequantize keeps the relative RMSE within each type's bound",
          "[kernels]") {
  const unsigned seed = 1234567;
  INFO("seed " << seed);
  const std::vector<RmseBound> bounds = {
      {TensorType::kF32, 0.0},     {TensorType::kF16, 4e-4},   {TensorType::kBF16, 3e-3},
      {TensorType::kQ8_0, 0.0065}, {TensorType::kQ4_0, 0.12},  {TensorType::kQ4_1, 0.11},
      {TensorType::kQ5_0, 0.06},   {TensorType::kQ5_1, 0.055}, {TensorType::kQ4_K, 0.09},
      {TensorType::kQ5_K, 0.045},  {TensorType::kQ6_K, 0.02}};
  for (const auto& [type, bound] : bounds) {
    std::mt19937 rng(seed);
    const std::size_t n = 768 * 7;  // 7 rows' worth of 3 super-blocks (21 K-blocks, 168 legacy)
    const auto x = normal_values(rng, n, 0.02f);
    const double rmse = relative_rmse(x, round_trip(type, x));
    INFO("type " << llama3::io::traits_of(type).name << " relative rmse " << rmse);
    CHECK(rmse <= bound);
  }
}

TEST_CASE("q4_0 and q5_0 follow ggml's rounding convention", "[kernels]") {
  // x = j - 16: the value of largest magnitude is -16, so d = -16 / -8 = 2 (Q4_0) and 1 (Q5_0).
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  const auto q4 = round_trip(TensorType::kQ4_0, x);
  CHECK(q4[0] == -16.0f);
  CHECK(q4[17] == 2.0f);   // 1 / 2 + 8.5 = 9 truncates to 9: halves round up
  CHECK(q4[15] == 0.0f);   // -1 / 2 + 8.5 = 8
  CHECK(q4[31] == 14.0f);  // 15 clips to the top level 7 * 2
  const auto q5 = round_trip(TensorType::kQ5_0, x);
  CHECK(q5 == x);  // every value is a level

  // A positive peak maps to -8 with a negative scale: d = 8 / -8 = -1.
  std::vector<float> y(32, 0.0f);
  y[3] = 8.0f;
  y[4] = -7.0f;
  y[5] = 2.5f;
  const auto back = round_trip(TensorType::kQ4_0, y);
  CHECK(back[3] == 8.0f);
  CHECK(back[4] == -7.0f);
  CHECK(back[5] == 2.0f);  // 2.5 / -1 + 8.5 = 6 -> (6 - 8) * -1: the tie goes towards -d

  // Q8_0: d = 127 / 127 = 1, round half away from zero.
  std::vector<float> z(32, 0.0f);
  z[0] = 127.0f;
  z[1] = -2.5f;
  z[2] = 0.5f;
  const auto q8 = round_trip(TensorType::kQ8_0, z);
  CHECK(q8[0] == 127.0f);
  CHECK(q8[1] == -3.0f);
  CHECK(q8[2] == 1.0f);
}

TEST_CASE("quantize_row is deterministic and handles all-zero and constant blocks", "[kernels]") {
  for (const TensorType type : kWeightTypes) {
    INFO("type " << llama3::io::traits_of(type).name);
    const std::size_t n = 256;
    const std::vector<float> zeros(n, 0.0f);
    CHECK(round_trip(type, zeros) == zeros);
    const std::vector<float> constant(n, 0.375f);  // an f16 value
    const auto back = round_trip(type, constant);
    CHECK(relative_rmse(constant, back) < 0.01);
    std::mt19937 rng(5);
    const auto x = normal_values(rng, n);
    std::vector<std::uint8_t> first(packed_bytes(type, n)), second(packed_bytes(type, n));
    quantize_row(type, x.data(), first.data(), n);
    quantize_row(type, x.data(), second.data(), n);
    CHECK(first == second);
  }
}
