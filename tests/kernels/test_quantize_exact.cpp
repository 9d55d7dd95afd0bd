// Quantizing values that some valid block already represents must give them back bit for bit (a
// dequantized tensor quantized again must not drift). The blocks are random bytes with random
// finite f16 scales of either sign, normal and subnormal.
#include <catch2/catch.hpp>

#include <bit>
#include <cstring>
#include <vector>

#include "kernels/half_float.hpp"
#include "kernels/reference.hpp"
#include "support/quant_test_support.hpp"

using llama3::io::TensorType;
using namespace llama3::kernels::reference;
using namespace llama3::test;

namespace {

// A finite f16 with a random sign, exponent field 0 (subnormal) .. max_exponent, random mantissa.
std::uint16_t random_half(std::mt19937& rng, unsigned max_exponent) {
  const unsigned sign = rng() & 1u;
  const unsigned exponent = rng() % (max_exponent + 1);
  const unsigned mantissa = rng() & 0x3FFu;
  return static_cast<std::uint16_t>(sign << 15 | exponent << 10 | mantissa);
}

// Byte offsets of the f16 scale fields (docs/facts.md §4).
std::vector<std::size_t> half_fields(TensorType type) {
  switch (type) {
    case TensorType::kQ4_1:
    case TensorType::kQ5_1:
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
      return {0, 2};
    case TensorType::kQ6_K:
      return {208};
    default:
      return {0};
  }
}

struct ExactCount {
  std::size_t exact = 0;
  std::size_t total = 0;
  double worst_rmse = 0.0;
};

// Round-trips `blocks` random valid blocks; scale exponents up to max_exponent (15 = 2^0).
ExactCount count_exact(TensorType type, std::size_t blocks, std::mt19937& rng,
                       unsigned max_exponent) {
  const std::size_t values = block_values(type);
  const std::size_t bytes = packed_bytes(type, values);
  ExactCount count;
  std::vector<std::uint8_t> block(bytes), again(bytes);
  std::vector<float> x(values), y(values);
  for (std::size_t b = 0; b < blocks; ++b) {
    for (auto& byte : block) byte = static_cast<std::uint8_t>(rng());
    for (const std::size_t offset : half_fields(type)) {
      const std::uint16_t half = random_half(rng, max_exponent);
      std::memcpy(block.data() + offset, &half, sizeof(half));
    }
    dequantize_row(type, block.data(), x.data(), values);
    quantize_row(type, x.data(), again.data(), values);
    dequantize_row(type, again.data(), y.data(), values);
    bool exact = true;
    double error = 0.0, energy = 0.0;
    for (std::size_t i = 0; i < values; ++i) {
      exact = exact && std::bit_cast<std::uint32_t>(x[i]) == std::bit_cast<std::uint32_t>(y[i]);
      error += (static_cast<double>(y[i]) - x[i]) * (static_cast<double>(y[i]) - x[i]);
      energy += static_cast<double>(x[i]) * x[i];
    }
    if (energy > 0.0) count.worst_rmse = std::max(count.worst_rmse, std::sqrt(error / energy));
    count.exact += exact ? 1 : 0;
    ++count.total;
  }
  return count;
}

}  // namespace

TEST_CASE("legacy quants and q6_K reproduce representable blocks bit for bit", "[kernels]") {
  const unsigned seed = 424242;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (const TensorType type : {TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ4_1,
                                TensorType::kQ5_0, TensorType::kQ5_1, TensorType::kQ6_K}) {
    // Scales from subnormal up to 2^15: d and m may differ by a factor of 2^30.
    const ExactCount count = count_exact(type, type == TensorType::kQ6_K ? 300 : 3000, rng, 30);
    INFO("type " << llama3::io::traits_of(type).name << ": " << count.exact << " of " << count.total
                 << " exact");
    CHECK(count.exact == count.total);
  }
}

TEST_CASE("f16 and bf16 reproduce their own values bit for bit", "[kernels]") {
  for (const TensorType type : {TensorType::kF16, TensorType::kBF16}) {
    std::vector<std::uint16_t> all(0x10000);
    for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint16_t>(i);
    std::vector<float> x(all.size());
    dequantize_row(type, all.data(), x.data(), x.size());
    std::vector<std::uint16_t> again(all.size());
    quantize_row(type, x.data(), again.data(), x.size());
    for (std::uint32_t i = 0; i < all.size(); ++i) {
      if (std::isnan(x[i])) continue;  // NaN payloads may be quieted
      INFO("bits " << i);
      REQUIRE(again[i] == all[i]);
    }
  }
}

// Q4_K/Q5_K values are d*sc*q - dmin*m with one f32 rounding in the subtraction, and the quantizer
// refits scales by least squares rather than searching for the original header (see
// quantize_k.cpp), so only some blocks come back exactly; the rest must still be close.
TEST_CASE("q4_K and q5_K on representable blocks: exact rate measured, error bounded",
          "[kernels]") {
  const unsigned seed = 99;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (const auto& [type, bound] :
       {std::pair{TensorType::kQ4_K, 0.05}, {TensorType::kQ5_K, 0.035}}) {
    const ExactCount count = count_exact(type, 300, rng, 30);
    INFO("type " << llama3::io::traits_of(type).name << ": " << count.exact << " of " << count.total
                 << " exact, worst relative rmse " << count.worst_rmse);
    CHECK(count.worst_rmse < bound);
  }
}
