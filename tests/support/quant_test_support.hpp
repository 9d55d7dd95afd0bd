// Shared helpers of the kernel tests: the supported weight types and seeded random data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "io/tensor_type.hpp"

namespace llama3::test {

inline constexpr std::array<io::TensorType, 11> kWeightTypes = {
    io::TensorType::kF32,  io::TensorType::kF16,  io::TensorType::kBF16, io::TensorType::kQ8_0,
    io::TensorType::kQ4_0, io::TensorType::kQ4_1, io::TensorType::kQ5_0, io::TensorType::kQ5_1,
    io::TensorType::kQ4_K, io::TensorType::kQ5_K, io::TensorType::kQ6_K};

inline std::size_t block_values(io::TensorType type) {
  return io::traits_of(type).block_size;
}

inline std::size_t packed_bytes(io::TensorType type, std::size_t n) {
  return static_cast<std::size_t>(*io::row_bytes(type, n));
}

inline std::vector<float> normal_values(std::mt19937& rng, std::size_t n, float sigma = 1.0f) {
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> values(n);
  for (auto& v : values) v = normal(rng);
  return values;
}

}  // namespace llama3::test
