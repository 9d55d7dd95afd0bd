// mask_row at every arch against the one-logit-at-a-time reference (Arch::kScalar): bit-equal rows
// for bitsets of all-allowed, all-forbidden, mixed and sparse words, at odd lengths, unaligned
// starts, and rows longer than the bitset; nothing outside the row is touched.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu_arch.hpp"
#include "kernels/vector_ops.hpp"

using namespace llama3::kernels;

namespace {

// Words of the kinds a grammar's mask has: none allowed, all allowed, a few allowed, most allowed,
// random.
std::vector<std::uint64_t> random_bitset(std::mt19937_64& rng, std::size_t n_words) {
  std::vector<std::uint64_t> words(n_words);
  for (auto& word : words) {
    switch (rng() % 5) {
      case 0:
        word = 0;
        break;
      case 1:
        word = ~std::uint64_t{0};
        break;
      case 2:
        word = std::uint64_t{1} << (rng() % 64);
        break;
      case 3:
        word = ~(std::uint64_t{1} << (rng() % 64));
        break;
      default:
        word = rng();
    }
  }
  return words;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("mask_row equals the scalar reference at every arch", "[kernels]") {
  const std::uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> logit(0.0f, 4.0f);
  constexpr float kGuard = 12345.0f;  // around the row: must stay untouched
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{63},
                              std::size_t{64}, std::size_t{65}, std::size_t{127}, std::size_t{200},
                              std::size_t{1001}, std::size_t{4099}}) {
    for (const std::size_t offset : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
      const std::size_t full_words = (n + 63) / 64;
      // A full bitset, one longer (bits past n are ignored), and a shorter one (the rest of the row
      // is forbidden).
      for (const std::size_t n_words : {full_words, full_words + 1, full_words / 2}) {
        const auto allowed = random_bitset(rng, n_words);
        std::vector<float> input(n + 2 * offset + 8, kGuard);
        for (std::size_t i = 0; i < n; ++i) input[offset + i] = logit(rng);
        if (n > 2) input[offset + 1] = -INFINITY;  // already forbidden stays so
        std::vector<float> expected = input;
        mask_row(expected.data() + offset, n, allowed.data(), n_words, Arch::kScalar);
        for (std::size_t i = 0; i < input.size(); ++i) {
          const bool inside = i >= offset && i < offset + n;
          if (!inside) REQUIRE(same_bits(expected[i], kGuard));
        }
        for (const Arch arch : runnable_archs()) {
          INFO("arch " << arch_name(arch) << ", n " << n << ", offset " << offset << ", n_words "
                       << n_words);
          std::vector<float> row = input;
          mask_row(row.data() + offset, n, allowed.data(), n_words, arch);
          for (std::size_t i = 0; i < row.size(); ++i) {
            INFO("index " << i);
            REQUIRE(same_bits(row[i], expected[i]));
          }
        }
      }
    }
  }
}

TEST_CASE("mask_row reference forbids exactly the clear bits", "[kernels]") {
  // Bits 0, 2 and 64 allowed over 70 logits; the bitset has two words.
  const std::uint64_t allowed[2] = {0b101, 0b1};
  std::vector<float> row(70, 1.0f);
  mask_row(row.data(), row.size(), allowed, 2, Arch::kScalar);
  for (std::size_t i = 0; i < row.size(); ++i) {
    const bool is_allowed = i == 0 || i == 2 || i == 64;
    INFO("index " << i);
    REQUIRE(row[i] == (is_allowed ? 1.0f : -INFINITY));
  }
}
