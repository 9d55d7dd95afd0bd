// Hand-made blocks, written byte by byte at the offsets of docs/facts.md §4 (not through
// quant_blocks.hpp), with expected values computed here from the published formulas. Scales are
// powers of two and small integers, so every expected value is exact in f32 and compared with ==.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/quant_blocks.hpp"
#include "kernels/reference.hpp"

using llama3::io::TensorType;
using llama3::kernels::reference::dequantize_row;

namespace {

// f16 bit patterns used as scales.
constexpr std::uint16_t kHalfQuarter = 0x3400;    // 0.25
constexpr std::uint16_t kHalfHalf = 0x3800;       // 0.5
constexpr std::uint16_t kHalfOne = 0x3C00;        // 1.0
constexpr std::uint16_t kHalfMinusOne = 0xBC00;   // -1.0
constexpr std::uint16_t kHalfMinusTwo = 0xC000;   // -2.0
constexpr std::uint16_t kHalfEighth = 0x3000;     // 0.125
constexpr std::uint16_t kHalfMinusHalf = 0xB800;  // -0.5

void put_u16(std::vector<std::uint8_t>& bytes, std::size_t offset, std::uint16_t value) {
  bytes[offset] = static_cast<std::uint8_t>(value & 0xFF);
  bytes[offset + 1] = static_cast<std::uint8_t>(value >> 8);
}

std::vector<float> dequantize(TensorType type, const std::vector<std::uint8_t>& bytes,
                              std::size_t n) {
  std::vector<float> out(n, std::numeric_limits<float>::quiet_NaN());
  dequantize_row(type, bytes.data(), out.data(), n);
  return out;
}

void check_all(const std::vector<float>& actual, const std::vector<float>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i);
    CHECK(actual[i] == expected[i]);
  }
}

}  // namespace

TEST_CASE("q8_0 hand-made block: y = q * d", "[kernels]") {
  std::vector<std::uint8_t> bytes(34);
  put_u16(bytes, 0, kHalfHalf);
  std::vector<float> expected(32);
  for (int j = 0; j < 32; ++j) {
    const int q = j == 0 ? -128 : j == 31 ? 127 : (j - 16) * 5;
    bytes[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(q));
    expected[j] = static_cast<float>(q) * 0.5f;
  }
  const auto y = dequantize(TensorType::kQ8_0, bytes, 32);
  CHECK(y[0] == -64.0f);
  CHECK(y[31] == 63.5f);
  CHECK(y[1] == -37.5f);
  check_all(y, expected);
}

TEST_CASE("q4_0 hand-made block: low nibbles first half, negative scale", "[kernels]") {
  std::vector<std::uint8_t> bytes(18);
  put_u16(bytes, 0, kHalfMinusTwo);
  std::vector<float> expected(32);
  for (int j = 0; j < 16; ++j) {
    bytes[2 + j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
    expected[j] = static_cast<float>(j - 8) * -2.0f;
    expected[j + 16] = static_cast<float>(15 - j - 8) * -2.0f;
  }
  const auto y = dequantize(TensorType::kQ4_0, bytes, 32);
  CHECK(y[0] == 16.0f);    // nibble 0 -> -8 * -2
  CHECK(y[16] == -14.0f);  // high nibble of byte 0 is 15 -> 7 * -2
  CHECK(y[15] == -14.0f);
  check_all(y, expected);
}

TEST_CASE("q4_1 hand-made block: y = q * d + m", "[kernels]") {
  std::vector<std::uint8_t> bytes(20);
  put_u16(bytes, 0, kHalfHalf);
  put_u16(bytes, 2, kHalfMinusOne);
  std::vector<float> expected(32);
  for (int j = 0; j < 16; ++j) {
    bytes[4 + j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
    expected[j] = static_cast<float>(j) * 0.5f - 1.0f;
    expected[j + 16] = static_cast<float>(15 - j) * 0.5f - 1.0f;
  }
  const auto y = dequantize(TensorType::kQ4_1, bytes, 32);
  CHECK(y[0] == -1.0f);
  CHECK(y[16] == 6.5f);
  check_all(y, expected);
}

// qh = 0x8001A00F: fifth bits for elements 0-3, 13, 15, 16 and 31.
constexpr std::array<std::uint8_t, 4> kFifthBits = {0x0F, 0xA0, 0x01, 0x80};
bool fifth_bit(int element) {
  const std::uint32_t qh = 0x8001A00Fu;
  return ((qh >> element) & 1u) != 0;
}

TEST_CASE("q5_0 hand-made block: fifth bits of elements j and j + 16", "[kernels]") {
  std::vector<std::uint8_t> bytes(22);
  put_u16(bytes, 0, kHalfQuarter);
  for (int i = 0; i < 4; ++i) bytes[2 + i] = kFifthBits[i];
  std::vector<float> expected(32);
  for (int j = 0; j < 16; ++j) {
    bytes[6 + j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
    expected[j] = static_cast<float>(j + (fifth_bit(j) ? 16 : 0) - 16) * 0.25f;
    expected[j + 16] = static_cast<float>(15 - j + (fifth_bit(j + 16) ? 16 : 0) - 16) * 0.25f;
  }
  const auto y = dequantize(TensorType::kQ5_0, bytes, 32);
  CHECK(y[0] == 0.0f);     // 0 | 16 -> 0
  CHECK(y[4] == -3.0f);    // 4 without the bit -> -12 * 0.25
  CHECK(y[13] == 3.25f);   // 13 | 16 -> 13
  CHECK(y[14] == -0.5f);   // 14 without the bit
  CHECK(y[16] == 3.75f);   // high nibble 15 | 16 -> 15
  CHECK(y[17] == -0.5f);   // high nibble 14, no bit
  CHECK(y[31] == 0.0f);    // high nibble 0 | 16
  CHECK(y[30] == -3.75f);  // high nibble 1, no bit
  check_all(y, expected);
}

TEST_CASE("q5_1 hand-made block: y = q5 * d + m", "[kernels]") {
  std::vector<std::uint8_t> bytes(24);
  put_u16(bytes, 0, kHalfOne);
  put_u16(bytes, 2, kHalfMinusHalf);
  for (int i = 0; i < 4; ++i) bytes[4 + i] = kFifthBits[i];
  std::vector<float> expected(32);
  for (int j = 0; j < 16; ++j) {
    bytes[8 + j] = static_cast<std::uint8_t>(j | ((15 - j) << 4));
    expected[j] = static_cast<float>(j + (fifth_bit(j) ? 16 : 0)) - 0.5f;
    expected[j + 16] = static_cast<float>(15 - j + (fifth_bit(j + 16) ? 16 : 0)) - 0.5f;
  }
  const auto y = dequantize(TensorType::kQ5_1, bytes, 32);
  CHECK(y[3] == 18.5f);
  CHECK(y[16] == 30.5f);
  CHECK(y[31] == 15.5f);
  check_all(y, expected);
}

// Sub-block scales and mins covering 0, 63 and the high two bits of sub-blocks 4..7, with the
// twelve packed bytes worked out by hand from get_scale_min_k4.
constexpr std::array<int, 8> kScales = {1, 2, 3, 63, 17, 33, 48, 63};
constexpr std::array<int, 8> kMins = {0, 5, 63, 7, 16, 31, 47, 62};
constexpr std::array<std::uint8_t, 12> kPackedScales = {0x41, 0x82, 0xC3, 0xFF, 0x40, 0x45,
                                                        0xBF, 0xC7, 0x01, 0xF1, 0xF0, 0xEF};

TEST_CASE("q4_K/q5_K six-bit scales pack and unpack as get_scale_min_k4 reads them", "[kernels]") {
  using namespace llama3::kernels;
  std::array<ScaleMin, 8> values{};
  for (std::size_t s = 0; s < 8; ++s) {
    values[s] = {static_cast<std::uint8_t>(kScales[s]), static_cast<std::uint8_t>(kMins[s])};
  }
  CHECK(pack_scale_mins(values) == kPackedScales);
  for (std::size_t s = 0; s < 8; ++s) {
    INFO("sub-block " << s);
    CHECK(unpack_scale_min(kPackedScales, s).scale == kScales[s]);
    CHECK(unpack_scale_min(kPackedScales, s).min == kMins[s]);
  }
}

TEST_CASE("q4_K hand-made block: eight sub-blocks, both scale branches", "[kernels]") {
  std::vector<std::uint8_t> bytes(144);
  put_u16(bytes, 0, kHalfHalf);     // d
  put_u16(bytes, 2, kHalfQuarter);  // dmin
  for (int i = 0; i < 12; ++i) bytes[4 + i] = kPackedScales[i];
  std::vector<float> expected(256);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int low = (l + c) & 0xF;
      const int high = 15 - (l & 0xF);
      bytes[16 + 32 * c + l] = static_cast<std::uint8_t>(low | (high << 4));
      expected[64 * c + l] = 0.5f * static_cast<float>(kScales[2 * c] * low) -
                             0.25f * static_cast<float>(kMins[2 * c]);
      expected[64 * c + 32 + l] = 0.5f * static_cast<float>(kScales[2 * c + 1] * high) -
                                  0.25f * static_cast<float>(kMins[2 * c + 1]);
    }
  }
  const auto y = dequantize(TensorType::kQ4_K, bytes, 256);
  CHECK(y[1] == 0.5f);                        // sub-block 0: 0.5 * 1 * 1 - 0
  CHECK(y[32] == 15.0f - 1.25f);              // sub-block 1: 0.5 * 2 * 15 - 0.25 * 5
  CHECK(y[255] == 0.0f - 15.5f);              // sub-block 7: q 0, min 62
  CHECK(y[128 + 2] == 0.5f * 17 * 4 - 4.0f);  // sub-block 4: q (2 + 2) & 15
  check_all(y, expected);
}

TEST_CASE("q5_K hand-made block: fifth bits per chunk, negative d", "[kernels]") {
  std::vector<std::uint8_t> bytes(176);
  put_u16(bytes, 0, kHalfMinusHalf);  // d
  put_u16(bytes, 2, kHalfEighth);     // dmin
  for (int i = 0; i < 12; ++i) bytes[4 + i] = kPackedScales[i];
  std::array<std::uint8_t, 32> qh{};
  for (int l = 0; l < 32; ++l) qh[l] = static_cast<std::uint8_t>(l * 37 + 11);
  for (int l = 0; l < 32; ++l) bytes[16 + l] = qh[l];
  std::vector<float> expected(256);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int low = (l * 3 + c) & 0xF;
      const int high = (l * 5 + 7) & 0xF;
      bytes[48 + 32 * c + l] = static_cast<std::uint8_t>(low | (high << 4));
      const int q_low = low + 16 * ((qh[l] >> (2 * c)) & 1);
      const int q_high = high + 16 * ((qh[l] >> (2 * c + 1)) & 1);
      expected[64 * c + l] = -0.5f * static_cast<float>(kScales[2 * c] * q_low) -
                             0.125f * static_cast<float>(kMins[2 * c]);
      expected[64 * c + 32 + l] = -0.5f * static_cast<float>(kScales[2 * c + 1] * q_high) -
                                  0.125f * static_cast<float>(kMins[2 * c + 1]);
    }
  }
  const auto y = dequantize(TensorType::kQ5_K, bytes, 256);
  // Element 0: qh[0] = 11 = 0b1011: chunk 0 low bit set -> q = 0 + 16, sub-block 0 (sc 1, m 0).
  CHECK(y[0] == -8.0f);
  // Element 32: chunk 0 high bit set -> q = 7 + 16, sub-block 1 (sc 2, m 5).
  CHECK(y[32] == -0.5f * 2 * 23 - 0.625f);
  // Element 64: chunk 1 low bit (bit 2) clear -> q = 1, sub-block 2 (sc 3, m 63).
  CHECK(y[64] == -1.5f - 7.875f);
  check_all(y, expected);
}

// Q6_K element e of a block, re-derived from the layout: half h = e / 128, quarter p of the half
// (0..3) picks ql byte l or l + 32 and its low or high nibble, and bits 2p..2p+1 of qh[l].
float q6_k_expected(const std::vector<std::uint8_t>& bytes, float d, int e) {
  const int h = e / 128;
  const int p = (e % 128) / 32;
  const int l = e % 32;
  const std::uint8_t ql = bytes[64 * h + l + (p % 2) * 32];
  const int low = p < 2 ? (ql & 0xF) : (ql >> 4);
  const int high = (bytes[128 + 32 * h + l] >> (2 * p)) & 3;
  const int scale = static_cast<std::int8_t>(bytes[192 + e / 16]);
  return d * static_cast<float>(scale) * static_cast<float>((low | (high << 4)) - 32);
}

TEST_CASE("q6_K hand-made block: both halves, four positions, signed scales", "[kernels]") {
  const std::array<int, 16> scales = {1, -1, 2,  -2, 127, -128, 3,   5,
                                      7, -7, 11, 13, -16, 64,   100, 0};
  std::vector<std::uint8_t> bytes(210);
  for (int i = 0; i < 128; ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + 3);
  for (int i = 0; i < 64; ++i) bytes[128 + i] = static_cast<std::uint8_t>(i * 13 + 5);
  for (int s = 0; s < 16; ++s)
    bytes[192 + s] = static_cast<std::uint8_t>(static_cast<std::int8_t>(scales[s]));
  put_u16(bytes, 208, kHalfQuarter);
  std::vector<float> expected(256);
  for (int e = 0; e < 256; ++e) expected[e] = q6_k_expected(bytes, 0.25f, e);
  const auto y = dequantize(TensorType::kQ6_K, bytes, 256);
  // Element 0: ql[0] = 3, qh[0] = 5 -> bits 01 -> q = 3 | 16 = 19 - 32 = -13, scale 1.
  CHECK(y[0] == -3.25f);
  // Element 32: ql[32] = 227 (low 3), qh[0] bits 2-3 = 01 -> 19 - 32 = -13, scale 2 (sub-block 2).
  CHECK(y[32] == -6.5f);
  // Element 64: ql[0] high nibble 0, qh[0] bits 4-5 = 00 -> -32, scale 127 (sub-block 4).
  CHECK(y[64] == 0.25f * 127 * -32);
  // Element 96: ql[32] high nibble 14, qh[0] bits 6-7 = 00 -> -18, scale 3 (sub-block 6).
  CHECK(y[96] == 0.25f * 3 * -18);
  // Element 128 (second half): ql[64] = 195 (low 3), qh[32] = 165 (bits 01) -> -13, scale 7.
  CHECK(y[128] == 0.25f * 7 * -13);
  // Element 255: sub-block 15 has scale 0.
  CHECK(y[255] == 0.0f);
  check_all(y, expected);
}

TEST_CASE("f16 and bf16 special values dequantize exactly", "[kernels]") {
  const float inf = std::numeric_limits<float>::infinity();
  {
    const std::vector<std::uint16_t> halves = {0x7C00, 0xFC00, 0x7E00, 0x0001, 0x03FF,
                                               0x8000, 0x7BFF, 0x0400, 0x8001};
    std::vector<std::uint8_t> bytes(halves.size() * 2);
    for (std::size_t i = 0; i < halves.size(); ++i) put_u16(bytes, 2 * i, halves[i]);
    const auto y = dequantize(TensorType::kF16, bytes, halves.size());
    CHECK(y[0] == inf);
    CHECK(y[1] == -inf);
    CHECK(std::isnan(y[2]));
    CHECK(y[3] == std::ldexp(1.0f, -24));
    CHECK(y[4] == std::ldexp(1023.0f, -24));
    CHECK((y[5] == 0.0f && std::signbit(y[5])));
    CHECK(y[6] == 65504.0f);
    CHECK(y[7] == std::ldexp(1.0f, -14));
    CHECK(y[8] == -std::ldexp(1.0f, -24));
  }
  {
    const std::vector<std::uint16_t> brains = {0x7F80, 0xFF80, 0x7FC0, 0x0001,
                                               0x8000, 0x3F80, 0xC2F7};
    std::vector<std::uint8_t> bytes(brains.size() * 2);
    for (std::size_t i = 0; i < brains.size(); ++i) put_u16(bytes, 2 * i, brains[i]);
    const auto y = dequantize(TensorType::kBF16, bytes, brains.size());
    CHECK(y[0] == inf);
    CHECK(y[1] == -inf);
    CHECK(std::isnan(y[2]));
    CHECK(y[3] == std::ldexp(1.0f, -133));  // f32 subnormal
    CHECK((y[4] == 0.0f && std::signbit(y[4])));
    CHECK(y[5] == 1.0f);
    CHECK(y[6] == -123.5f);
  }
}

TEST_CASE("multi-block rows dequantize each block with its own scale", "[kernels]") {
  // Two Q8_0 blocks: d = 1 then d = -1, all quants 3.
  std::vector<std::uint8_t> bytes(68, 3);
  put_u16(bytes, 0, kHalfOne);
  put_u16(bytes, 34, kHalfMinusOne);
  const auto y = dequantize(TensorType::kQ8_0, bytes, 64);
  CHECK(y[31] == 3.0f);
  CHECK(y[32] == -3.0f);
  CHECK(y[63] == -3.0f);
}

TEST_CASE("packed block structs have the sizes the tensor type table gives", "[kernels]") {
  using namespace llama3::kernels;
  CHECK(sizeof(BlockQ8_0) == llama3::io::traits_of(TensorType::kQ8_0).block_bytes);
  CHECK(sizeof(BlockQ4_0) == llama3::io::traits_of(TensorType::kQ4_0).block_bytes);
  CHECK(sizeof(BlockQ4_1) == llama3::io::traits_of(TensorType::kQ4_1).block_bytes);
  CHECK(sizeof(BlockQ5_0) == llama3::io::traits_of(TensorType::kQ5_0).block_bytes);
  CHECK(sizeof(BlockQ5_1) == llama3::io::traits_of(TensorType::kQ5_1).block_bytes);
  CHECK(sizeof(BlockQ4_K) == llama3::io::traits_of(TensorType::kQ4_K).block_bytes);
  CHECK(sizeof(BlockQ5_K) == llama3::io::traits_of(TensorType::kQ5_K).block_bytes);
  CHECK(sizeof(BlockQ6_K) == llama3::io::traits_of(TensorType::kQ6_K).block_bytes);
}
