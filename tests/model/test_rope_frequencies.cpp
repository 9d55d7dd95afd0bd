#include <catch2/catch.hpp>

#include "model/rope_frequencies.hpp"

using llama3::model::llama3_rope_divisors;
using llama3::model::Llama3RopeScaling;

TEST_CASE("Llama 3.1 rope divisors match the reference values (head 128, factor 8)", "[model]") {
  const auto divisors = llama3_rope_divisors(128, 500000.0, Llama3RopeScaling{});
  REQUIRE(divisors.size() == 64);
  for (int i = 0; i <= 28; ++i) CHECK(divisors[i] == 1.0f);
  for (int i = 35; i < 64; ++i) CHECK(divisors[i] == 8.0f);
  const float middle[] = {1.2075f, 1.5534f, 2.0263f, 2.6945f, 3.6843f, 5.2573f};
  for (int i = 0; i < 6; ++i) CHECK(divisors[29 + i] == Approx(middle[i]).epsilon(1e-4));
}

TEST_CASE("Llama 3.2 1B rope divisors match the reference values (head 64, factor 32)", "[model]") {
  Llama3RopeScaling scaling;
  scaling.factor = 32.0;
  const auto divisors = llama3_rope_divisors(64, 500000.0, scaling);
  REQUIRE(divisors.size() == 32);
  for (int i = 0; i <= 14; ++i) CHECK(divisors[i] == 1.0f);
  for (int i = 18; i < 32; ++i) CHECK(divisors[i] == 32.0f);
  CHECK(divisors[15] == Approx(1.6513f).epsilon(1e-4));
  CHECK(divisors[16] == Approx(3.2923f).epsilon(1e-4));
  CHECK(divisors[17] == Approx(9.6667f).epsilon(1e-4));
}

TEST_CASE("inverse frequencies divide by the divisors", "[model]") {
  const std::vector<float> divisors{1.0f, 2.0f};
  const auto inverse = llama3::model::rope_inverse_frequencies(4, 10000.0, divisors);
  REQUIRE(inverse.size() == 2);
  CHECK(inverse[0] == Approx(1.0));
  CHECK(inverse[1] == Approx(0.01 / 2.0));
}
