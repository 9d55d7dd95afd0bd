#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/reference.hpp"
#include "llama3/error.hpp"
#include "support/quant_test_support.hpp"

using llama3::io::TensorType;
using namespace llama3::kernels::reference;
using namespace llama3::test;

namespace {

double exact_dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

double magnitude_dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::fabs(static_cast<double>(a[i]) * b[i]);
  return sum;
}

}  // namespace

TEST_CASE("dot_row equals the double-precision dot of the dequantized row", "[kernels]") {
  const unsigned seed = 20240611;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (const TensorType type : kWeightTypes) {
    for (const std::size_t blocks : {1u, 3u, 7u}) {
      // Plain types have one-value blocks; give them odd lengths of the same order.
      const std::size_t n = block_values(type) == 1 ? 32 * blocks + 1 : block_values(type) * blocks;
      INFO("type " << llama3::io::traits_of(type).name << ", n " << n);
      const auto weights = normal_values(rng, n);
      const auto x = normal_values(rng, n);
      std::vector<std::uint8_t> packed(packed_bytes(type, n));
      quantize_row(type, weights.data(), packed.data(), n);
      std::vector<float> dequantized(n);
      dequantize_row(type, packed.data(), dequantized.data(), n);

      const double expected = exact_dot(dequantized, x);
      const float actual = dot_row(type, packed.data(), x.data(), n);
      // One f32 rounding of the double sum, relative to the sum of magnitudes (the sum itself may
      // cancel towards zero).
      CHECK(std::fabs(actual - expected) <= 1e-6 * magnitude_dot(dequantized, x));
    }
  }
}

TEST_CASE("matvec applies dot_row to every row at the given stride", "[kernels]") {
  const unsigned seed = 77;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  const std::size_t n = 512;
  const std::size_t n_rows = 5;
  for (const TensorType type : kWeightTypes) {
    INFO("type " << llama3::io::traits_of(type).name);
    const std::size_t row_bytes = packed_bytes(type, n);
    const std::size_t stride = row_bytes + 6;  // padding between rows must be skipped
    std::vector<std::uint8_t> matrix(stride * n_rows, 0xEE);
    for (std::size_t r = 0; r < n_rows; ++r) {
      const auto row = normal_values(rng, n);
      quantize_row(type, row.data(), matrix.data() + r * stride, n);
    }
    const auto x = normal_values(rng, n);
    std::vector<float> y(n_rows + 1, -1.0f);
    matvec(type, matrix.data(), stride, n_rows, x.data(), n, y.data());
    for (std::size_t r = 0; r < n_rows; ++r) {
      CHECK(y[r] == dot_row(type, matrix.data() + r * stride, x.data(), n));
    }
    CHECK(y[n_rows] == -1.0f);  // nothing written past n_rows
  }
}

TEST_CASE("reference kernels reject unsupported types and partial blocks", "[kernels]") {
  std::vector<float> values(512, 1.0f);
  std::vector<std::uint8_t> packed(4096);
  const auto expect_code = [](auto&& call, llama3::ErrorCode code, const char* text) {
    try {
      call();
      FAIL("no error thrown");
    } catch (const llama3::Error& error) {
      CHECK(error.code() == code);
      CHECK_THAT(error.what(), Catch::Contains(text));
    }
  };
  for (const TensorType type : {TensorType::kQ2_K, TensorType::kQ3_K, TensorType::kQ8_K,
                                TensorType::kQ8_1, TensorType::kI8, TensorType::kF64}) {
    const auto name = std::string(llama3::io::traits_of(type).name);
    INFO(name);
    CHECK_FALSE(is_supported_weight_type(type));
    expect_code([&] { dequantize_row(type, packed.data(), values.data(), 256); },
                llama3::ErrorCode::kUnsupported, name.c_str());
    expect_code([&] { quantize_row(type, values.data(), packed.data(), 256); },
                llama3::ErrorCode::kUnsupported, name.c_str());
    expect_code([&] { dot_row(type, packed.data(), values.data(), 256); },
                llama3::ErrorCode::kUnsupported, name.c_str());
  }
  for (const TensorType type : kWeightTypes) CHECK(is_supported_weight_type(type));
  expect_code(
      [&] { dequantize_row(static_cast<TensorType>(99), packed.data(), values.data(), 32); },
      llama3::ErrorCode::kUnsupported, "99");

  expect_code([&] { dequantize_row(TensorType::kQ4_0, packed.data(), values.data(), 33); },
              llama3::ErrorCode::kInvalidArgument, "33");
  expect_code([&] { quantize_row(TensorType::kQ6_K, values.data(), packed.data(), 288); },
              llama3::ErrorCode::kInvalidArgument, "256");
  expect_code([&] { dot_row(TensorType::kQ8_0, packed.data(), values.data(), 16); },
              llama3::ErrorCode::kInvalidArgument, "q8_0");
  expect_code(
      [&] { matvec(TensorType::kQ5_K, packed.data(), 176, 1, values.data(), 200, values.data()); },
      llama3::ErrorCode::kInvalidArgument, "q5_K");
}
