// dequantize_row: the formulas of docs/facts.md §4, evaluated in the same order as ggml's
// dequantize_row_* (e.g. (d * sc) * q - dmin * m) so results match ggml bit for bit, including
// where f32 rounds.
#include <cstring>

#include "kernels/half_float.hpp"
#include "kernels/quant_blocks.hpp"
#include "kernels/reference.hpp"
#include "kernels/reference_row.hpp"

namespace llama3::kernels::reference {
namespace {

template <typename Block>
Block load_block(const std::byte* packed, std::size_t index) {
  Block block;
  std::memcpy(&block, packed + index * sizeof(Block), sizeof(Block));
  return block;
}

void dequantize_q8_0(const BlockQ8_0& block, float* out) {
  const float d = f16_to_f32(block.d);
  for (std::size_t j = 0; j < 32; ++j) out[j] = static_cast<float>(block.qs[j]) * d;
}

void dequantize_q4_0(const BlockQ4_0& block, float* out) {
  const float d = f16_to_f32(block.d);
  for (std::size_t j = 0; j < 16; ++j) {
    out[j] = static_cast<float>((block.qs[j] & 0xF) - 8) * d;
    out[j + 16] = static_cast<float>((block.qs[j] >> 4) - 8) * d;
  }
}

void dequantize_q4_1(const BlockQ4_1& block, float* out) {
  const float d = f16_to_f32(block.d);
  const float m = f16_to_f32(block.m);
  for (std::size_t j = 0; j < 16; ++j) {
    out[j] = static_cast<float>(block.qs[j] & 0xF) * d + m;
    out[j + 16] = static_cast<float>(block.qs[j] >> 4) * d + m;
  }
}

std::uint32_t load_u32_le(const std::array<std::uint8_t, 4>& bytes) {
  return std::uint32_t{bytes[0]} | std::uint32_t{bytes[1]} << 8 | std::uint32_t{bytes[2]} << 16 |
         std::uint32_t{bytes[3]} << 24;
}

// The 5-bit quants of a Q5_0/Q5_1 block: bit j of qh is the fifth bit of element j.
std::array<int, 32> five_bit_quants(const std::array<std::uint8_t, 4>& qh_bytes,
                                    const std::array<std::uint8_t, 16>& qs) {
  const std::uint32_t qh = load_u32_le(qh_bytes);
  std::array<int, 32> quants{};
  for (std::size_t j = 0; j < 16; ++j) {
    quants[j] = static_cast<int>((qs[j] & 0xF) | (((qh >> j) & 1u) << 4));
    quants[j + 16] = static_cast<int>((qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
  }
  return quants;
}

void dequantize_q5_0(const BlockQ5_0& block, float* out) {
  const float d = f16_to_f32(block.d);
  const auto quants = five_bit_quants(block.qh, block.qs);
  for (std::size_t j = 0; j < 32; ++j) out[j] = static_cast<float>(quants[j] - 16) * d;
}

void dequantize_q5_1(const BlockQ5_1& block, float* out) {
  const float d = f16_to_f32(block.d);
  const float m = f16_to_f32(block.m);
  const auto quants = five_bit_quants(block.qh, block.qs);
  for (std::size_t j = 0; j < 32; ++j) out[j] = static_cast<float>(quants[j]) * d + m;
}

// Q4_K and Q5_K share everything but the fifth bit; qh is null for Q4_K.
void dequantize_k4_k5(std::uint16_t d_bits, std::uint16_t dmin_bits,
                      const std::array<std::uint8_t, 12>& scales,
                      const std::array<std::uint8_t, 128>& qs, const std::uint8_t* qh, float* out) {
  const float d = f16_to_f32(d_bits);
  const float dmin = f16_to_f32(dmin_bits);
  for (std::size_t chunk = 0; chunk < 4; ++chunk) {
    const ScaleMin low = unpack_scale_min(scales, 2 * chunk);
    const ScaleMin high = unpack_scale_min(scales, 2 * chunk + 1);
    const float d_low = d * static_cast<float>(low.scale);
    const float m_low = dmin * static_cast<float>(low.min);
    const float d_high = d * static_cast<float>(high.scale);
    const float m_high = dmin * static_cast<float>(high.min);
    for (std::size_t l = 0; l < 32; ++l) {
      const std::uint8_t byte = qs[32 * chunk + l];
      int q_low = byte & 0xF;
      int q_high = byte >> 4;
      if (qh != nullptr) {
        q_low += ((qh[l] >> (2 * chunk)) & 1) << 4;
        q_high += ((qh[l] >> (2 * chunk + 1)) & 1) << 4;
      }
      out[64 * chunk + l] = d_low * static_cast<float>(q_low) - m_low;
      out[64 * chunk + 32 + l] = d_high * static_cast<float>(q_high) - m_high;
    }
  }
}

void dequantize_q6_k(const BlockQ6_K& block, float* out) {
  const float d = f16_to_f32(block.d);
  for (std::size_t half = 0; half < 2; ++half) {
    const std::uint8_t* ql = block.ql.data() + 64 * half;
    const std::uint8_t* qh = block.qh.data() + 32 * half;
    const std::int8_t* sc = block.scales.data() + 8 * half;
    float* y = out + 128 * half;
    for (std::size_t l = 0; l < 32; ++l) {
      const std::size_t is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
  }
}

template <typename Block, typename Dequantize>
void dequantize_blocks(const void* packed, float* out, std::size_t n_blocks, std::size_t values,
                       Dequantize dequantize) {
  const auto* bytes = static_cast<const std::byte*>(packed);
  for (std::size_t b = 0; b < n_blocks; ++b)
    dequantize(load_block<Block>(bytes, b), out + b * values);
}

}  // namespace

void dequantize_row(io::TensorType type, const void* packed, float* out, std::size_t n) {
  const RowShape shape = checked_row_shape(type, n, "dequantize_row");
  const auto* bytes = static_cast<const std::byte*>(packed);
  switch (type) {
    case io::TensorType::kF32:
      std::memcpy(out, packed, n * sizeof(float));
      return;
    case io::TensorType::kF16:
      for (std::size_t i = 0; i < n; ++i) out[i] = f16_to_f32(load_block<std::uint16_t>(bytes, i));
      return;
    case io::TensorType::kBF16:
      for (std::size_t i = 0; i < n; ++i) out[i] = bf16_to_f32(load_block<std::uint16_t>(bytes, i));
      return;
    case io::TensorType::kQ8_0:
      return dequantize_blocks<BlockQ8_0>(packed, out, shape.n_blocks, 32, dequantize_q8_0);
    case io::TensorType::kQ4_0:
      return dequantize_blocks<BlockQ4_0>(packed, out, shape.n_blocks, 32, dequantize_q4_0);
    case io::TensorType::kQ4_1:
      return dequantize_blocks<BlockQ4_1>(packed, out, shape.n_blocks, 32, dequantize_q4_1);
    case io::TensorType::kQ5_0:
      return dequantize_blocks<BlockQ5_0>(packed, out, shape.n_blocks, 32, dequantize_q5_0);
    case io::TensorType::kQ5_1:
      return dequantize_blocks<BlockQ5_1>(packed, out, shape.n_blocks, 32, dequantize_q5_1);
    case io::TensorType::kQ4_K:
      return dequantize_blocks<BlockQ4_K>(
          packed, out, shape.n_blocks, 256, [](const BlockQ4_K& block, float* y) {
            dequantize_k4_k5(block.d, block.dmin, block.scales, block.qs, nullptr, y);
          });
    case io::TensorType::kQ5_K:
      return dequantize_blocks<BlockQ5_K>(
          packed, out, shape.n_blocks, 256, [](const BlockQ5_K& block, float* y) {
            dequantize_k4_k5(block.d, block.dmin, block.scales, block.qs, block.qh.data(), y);
          });
    case io::TensorType::kQ6_K:
      return dequantize_blocks<BlockQ6_K>(packed, out, shape.n_blocks, 256, dequantize_q6_k);
    default:
      return;  // checked_row_shape has thrown for every other type
  }
}

}  // namespace llama3::kernels::reference
