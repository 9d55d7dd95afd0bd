// Speculative sampling's acceptance rule keeps the target's distribution: on a six-token vocabulary
// with synthetic p and q, a draft x ~ q followed by verify() yields tokens distributed as p. Each
// case draws 200,000 times with a fixed seed and applies Pearson's chi-square test at a
// false-failure rate of 1e-6 per case (critical values of the chi-square law: 27.63 for 2 degrees
// of freedom, 30.66 for 3, 33.38 for 4, 35.89 for 5), so the suite cannot fail by chance in
// practice, yet a rule that moves one percentage point of mass fails it (as the unverified drafts
// do, checked below). Tokens p gives no mass must never come out.
#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "runtime/random.hpp"
#include "runtime/speculative_sampling.hpp"

using namespace llama3;
using runtime::SpeculativeVerifier;

namespace {

constexpr int kVocab = 6;
constexpr int kDraws = 200'000;

std::vector<TokenProbability> distribution(const std::array<double, kVocab>& weights) {
  std::vector<TokenProbability> out;
  for (int i = 0; i < kVocab; ++i) {
    if (weights[i] > 0) out.push_back({i, static_cast<float>(weights[i])});
  }
  return out;
}

double critical_value(int degrees_of_freedom) {
  switch (degrees_of_freedom) {
    case 2:
      return 27.63;
    case 3:
      return 30.66;
    case 4:
      return 33.38;
    case 5:
      return 35.89;
  }
  FAIL("no critical value for " << degrees_of_freedom << " degrees of freedom");
  return 0;
}

struct Tally {
  std::array<int, kVocab> counts{};
  int accepted = 0;
};

// x ~ q (or x fixed when deterministic), then the verifier's outcome.
Tally simulate(const std::array<double, kVocab>& p_weights,
               const std::array<double, kVocab>& q_weights, bool deterministic_draft,
               TokenId fixed_draft, std::uint64_t seed) {
  const auto p = distribution(p_weights);
  const auto q = distribution(q_weights);
  auto state = detail::seed_random_state(seed);
  const runtime::UniformSource uniform = [&state] { return detail::next_uniform(state); };
  SpeculativeVerifier verifier(kVocab);
  Tally tally;
  for (int i = 0; i < kDraws; ++i) {
    const TokenId x = deterministic_draft ? fixed_draft : runtime::draw_token(q, uniform());
    const auto verdict = verifier.verify(
        p, x, deterministic_draft ? std::span<const TokenProbability>() : q, uniform);
    ++tally.counts[static_cast<std::size_t>(verdict.token)];
    if (verdict.accepted) ++tally.accepted;
  }
  return tally;
}

struct ChiSquare {
  double value = 0;
  int cells = 0;
  bool impossible_seen = false;  // a token p gives no mass came out
};

ChiSquare chi_square(const Tally& tally, const std::array<double, kVocab>& p_weights) {
  double total = 0;
  for (double w : p_weights) total += w;
  ChiSquare out;
  for (int i = 0; i < kVocab; ++i) {
    const double expected = kDraws * p_weights[i] / total;
    if (expected == 0) {
      out.impossible_seen = out.impossible_seen || tally.counts[i] != 0;
      continue;
    }
    const double diff = tally.counts[i] - expected;
    out.value += diff * diff / expected;
    ++out.cells;
  }
  return out;
}

void check_distributed_as(const Tally& tally, const std::array<double, kVocab>& p_weights) {
  const ChiSquare result = chi_square(tally, p_weights);
  INFO("chi-square " << result.value << " over " << result.cells << " cells");
  CHECK_FALSE(result.impossible_seen);
  CHECK(result.value < critical_value(result.cells - 1));
}

}  // namespace

TEST_CASE("draft tokens from q verified against p come out distributed as p", "[speculative]") {
  const std::array<double, kVocab> p{0.30, 0.05, 0.25, 0.10, 0.20, 0.10};
  SECTION("q overlapping p unevenly") {
    const std::array<double, kVocab> q{0.10, 0.40, 0.05, 0.25, 0.15, 0.05};
    const auto tally = simulate(p, q, false, 0, 1);
    check_distributed_as(tally, p);
    // The test has the power to see a wrong law: q's own draws, unverified, fail it.
    Tally drafts;
    auto state = detail::seed_random_state(99);
    const auto q_list = distribution(q);
    for (int i = 0; i < kDraws; ++i) {
      ++drafts.counts[static_cast<std::size_t>(
          runtime::draw_token(q_list, detail::next_uniform(state)))];
    }
    CHECK(chi_square(drafts, p).value > 1000 * critical_value(5));
    // Acceptance is sum_x min(p, q) = 0.10+0.05+0.05+0.10+0.15+0.05 = 0.50.
    CHECK(tally.accepted > kDraws * 0.49);
    CHECK(tally.accepted < kDraws * 0.51);
  }
  SECTION("q equal to p: everything is accepted") {
    const auto tally = simulate(p, p, false, 0, 2);
    check_distributed_as(tally, p);
    CHECK(tally.accepted == kDraws);
  }
  SECTION("q with mass where p has none (a truncated target)") {
    const std::array<double, kVocab> p_truncated{0.5, 0.0, 0.3, 0.2, 0.0, 0.0};
    const std::array<double, kVocab> q{0.2, 0.3, 0.1, 0.1, 0.2, 0.1};
    check_distributed_as(simulate(p_truncated, q, false, 0, 3), p_truncated);
  }
  SECTION("q narrower than p") {
    const std::array<double, kVocab> q{0.0, 0.0, 0.7, 0.3, 0.0, 0.0};
    check_distributed_as(simulate(p, q, false, 0, 4), p);
  }
  SECTION("a deterministic draft (prompt lookup): q is one-hot") {
    for (TokenId fixed : {0, 1, 4}) {
      const auto tally = simulate(p, {}, true, fixed, 5 + static_cast<std::uint64_t>(fixed));
      check_distributed_as(tally, p);
      // Kept with probability p(x).
      CHECK(tally.accepted == Approx(kDraws * p[static_cast<std::size_t>(fixed)]).epsilon(0.03));
    }
  }
}

TEST_CASE("a one-hot p (greedy) keeps only its token and draws nothing", "[speculative]") {
  const std::vector<TokenProbability> p{{3, 1.0f}};
  SpeculativeVerifier verifier(kVocab);
  int draws = 0;
  const runtime::UniformSource uniform = [&draws] {
    ++draws;
    return 0.5;
  };
  CHECK(verifier.verify(p, 3, {}, uniform).accepted);
  const auto rejected = verifier.verify(p, 2, {}, uniform);
  CHECK_FALSE(rejected.accepted);
  CHECK(rejected.token == 3);
  const std::vector<TokenProbability> q{{2, 0.6f}, {3, 0.4f}};
  CHECK(verifier.verify(p, 3, q, uniform).accepted);
  CHECK(verifier.verify(p, 2, q, uniform).token == 3);
  CHECK(draws == 0);
}
