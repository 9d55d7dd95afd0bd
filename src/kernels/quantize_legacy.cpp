// Quantizers of the 32-value quants. The first block tried is ggml's reference rule
// (quantize_row_*_ref in ggml-quants.c), computed in the same f32 steps, so files we write agree
// with ggml's on the same input:
//   Q8_0: d = amax / 127, q = round(x / d).
//   Q4_0 / Q5_0: d = max / -8 (-16), where max is the signed value of largest magnitude, so that
//   value
//     lands exactly on the extra negative level; q = min(15 (31), trunc(x / d + 8.5 (16.5))).
//   Q4_1 / Q5_1: d = (max - min) / 15 (31), m = min, q = trunc((x - min) / d + 0.5).
// The reciprocal uses the unrounded f32 d, as ggml does. When that block does not reproduce x bit
// for bit, an exact block is searched for (exact_representation.hpp) and used if one exists.
#include <algorithm>
#include <array>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "kernels/exact_representation.hpp"
#include "kernels/half_float.hpp"
#include "kernels/quantize_blocks.hpp"
#include "kernels/reference.hpp"

namespace llama3::kernels::reference {
namespace {

constexpr std::size_t kValues = kLegacyBlockValues;

using Quants = std::array<int, kValues>;

// Low four bits of element j in the low nibble of byte j, of element j + 16 in the high nibble.
std::array<std::uint8_t, 16> pack_nibbles(const Quants& q) {
  std::array<std::uint8_t, 16> qs{};
  for (std::size_t j = 0; j < 16; ++j) {
    qs[j] = static_cast<std::uint8_t>((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
  }
  return qs;
}

// Fifth bit of element j at bit j of a little-endian u32.
std::array<std::uint8_t, 4> pack_fifth_bits(const Quants& q) {
  std::uint32_t qh = 0;
  for (std::size_t j = 0; j < kValues; ++j) qh |= static_cast<std::uint32_t>((q[j] >> 4) & 1) << j;
  return {static_cast<std::uint8_t>(qh), static_cast<std::uint8_t>(qh >> 8),
          static_cast<std::uint8_t>(qh >> 16), static_cast<std::uint8_t>(qh >> 24)};
}

template <typename Block>
bool reproduces(io::TensorType type, const Block& block, const float* x) {
  std::array<float, kValues> values{};
  dequantize_row(type, &block, values.data(), kValues);
  for (std::size_t i = 0; i < kValues; ++i) {
    if (!same_bits(values[i], x[i])) return false;
  }
  return true;
}

// ggml's scale for Q4_0/Q5_0: the signed value of largest magnitude (first on ties) over -levels.
float signed_peak_scale(const float* x, float levels) {
  float amax = 0.0f;
  float max = 0.0f;
  for (std::size_t j = 0; j < kValues; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max / -levels;
}

// ggml's symmetric quants with a zero point `offset` (8 or 16) and largest quant `q_max`.
Quants offset_quants(const float* x, float d, int offset, int q_max) {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const float shift = static_cast<float>(offset) + 0.5f;
  Quants q{};
  for (std::size_t j = 0; j < kValues; ++j) {
    q[j] = std::min(q_max, static_cast<int>(x[j] * id + shift));
  }
  return q;
}

struct MinMax {
  float min = FLT_MAX;
  float max = -FLT_MAX;
};

MinMax min_max(const float* x) {
  MinMax range;
  for (std::size_t j = 0; j < kValues; ++j) {
    if (x[j] < range.min) range.min = x[j];
    if (x[j] > range.max) range.max = x[j];
  }
  return range;
}

Quants affine_quants(const float* x, const MinMax& range, float d, int q_max) {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  Quants q{};
  for (std::size_t j = 0; j < kValues; ++j) {
    q[j] = std::min(q_max, static_cast<int>((x[j] - range.min) * id + 0.5f));
  }
  return q;
}

// The exact quants of a symmetric search shifted to unsigned storage.
Quants shifted(const std::array<int, 32>& q, int offset) {
  Quants result{};
  for (std::size_t j = 0; j < kValues; ++j) result[j] = q[j] + offset;
  return result;
}

}  // namespace

BlockQ8_0 round_block_q8_0(const float* x) {
  float amax = 0.0f;
  for (std::size_t j = 0; j < kValues; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  BlockQ8_0 block{};
  block.d = f32_to_f16(d);
  for (std::size_t j = 0; j < kValues; ++j) {
    block.qs[j] = static_cast<std::int8_t>(std::round(x[j] * id));
  }
  return block;
}

BlockQ8_0 quantize_block_q8_0(const float* x) {
  BlockQ8_0 block = round_block_q8_0(x);
  if (reproduces(io::TensorType::kQ8_0, block, x)) return block;
  if (const auto exact = find_exact_symmetric(x, kValues, -128, 127)) {
    block.d = exact->d;
    for (std::size_t j = 0; j < kValues; ++j) block.qs[j] = static_cast<std::int8_t>(exact->q[j]);
  }
  return block;
}

BlockQ4_0 quantize_block_q4_0(const float* x) {
  const float d = signed_peak_scale(x, 8.0f);
  BlockQ4_0 block{};
  block.d = f32_to_f16(d);
  block.qs = pack_nibbles(offset_quants(x, d, 8, 15));
  if (reproduces(io::TensorType::kQ4_0, block, x)) return block;
  if (const auto exact = find_exact_symmetric(x, kValues, -8, 7)) {
    block.d = exact->d;
    block.qs = pack_nibbles(shifted(exact->q, 8));
  }
  return block;
}

BlockQ5_0 quantize_block_q5_0(const float* x) {
  const float d = signed_peak_scale(x, 16.0f);
  const Quants q = offset_quants(x, d, 16, 31);
  BlockQ5_0 block{};
  block.d = f32_to_f16(d);
  block.qh = pack_fifth_bits(q);
  block.qs = pack_nibbles(q);
  if (reproduces(io::TensorType::kQ5_0, block, x)) return block;
  if (const auto exact = find_exact_symmetric(x, kValues, -16, 15)) {
    const Quants exact_q = shifted(exact->q, 16);
    block.d = exact->d;
    block.qh = pack_fifth_bits(exact_q);
    block.qs = pack_nibbles(exact_q);
  }
  return block;
}

BlockQ4_1 quantize_block_q4_1(const float* x) {
  const MinMax range = min_max(x);
  const float d = (range.max - range.min) / 15.0f;
  BlockQ4_1 block{};
  block.d = f32_to_f16(d);
  block.m = f32_to_f16(range.min);
  block.qs = pack_nibbles(affine_quants(x, range, d, 15));
  if (reproduces(io::TensorType::kQ4_1, block, x)) return block;
  if (const auto exact = find_exact_affine(x, kValues, 15)) {
    block.d = exact->d;
    block.m = exact->m;
    block.qs = pack_nibbles(exact->q);
  }
  return block;
}

BlockQ5_1 quantize_block_q5_1(const float* x) {
  const MinMax range = min_max(x);
  const float d = (range.max - range.min) / 31.0f;
  const Quants q = affine_quants(x, range, d, 31);
  BlockQ5_1 block{};
  block.d = f32_to_f16(d);
  block.m = f32_to_f16(range.min);
  block.qh = pack_fifth_bits(q);
  block.qs = pack_nibbles(q);
  if (reproduces(io::TensorType::kQ5_1, block, x)) return block;
  if (const auto exact = find_exact_affine(x, kValues, 31)) {
    block.d = exact->d;
    block.m = exact->m;
    block.qh = pack_fifth_bits(exact->q);
    block.qs = pack_nibbles(exact->q);
  }
  return block;
}

}  // namespace llama3::kernels::reference
