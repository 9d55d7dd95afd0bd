// A small, fully specified pseudo-random generator for the sampler's draw, so that a seed gives the
// same tokens on every platform and standard library: xoshiro256** (Blackman & Vigna, 2018) seeded
// by splitmix64, with the uniform double built from the top 53 bits. std::mt19937 would be portable
// too, but std::uniform_real_distribution and std::discrete_distribution are not specified
// bit-exactly.
#pragma once

#include <array>
#include <cstdint>

namespace llama3::detail {

using RandomState = std::array<std::uint64_t, 4>;

// splitmix64 expands one 64-bit seed into four well-mixed, never all-zero state words.
inline RandomState seed_random_state(std::uint64_t seed) {
  RandomState state{};
  for (auto& word : state) {
    seed += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    word = z ^ (z >> 31);
  }
  return state;
}

inline std::uint64_t rotate_left(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

// xoshiro256**: the next 64 random bits.
inline std::uint64_t next_random(RandomState& s) {
  const std::uint64_t result = rotate_left(s[1] * 5, 7) * 9;
  const std::uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotate_left(s[3], 45);
  return result;
}

// Uniform in [0, 1) with 53 random bits: exactly representable, identical everywhere.
inline double next_uniform(RandomState& s) {
  return static_cast<double>(next_random(s) >> 11) * 0x1.0p-53;
}

}  // namespace llama3::detail
