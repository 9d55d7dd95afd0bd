// Sampler: each chain step on hand-made numbers, the full chain's determinism, and the draw's
// statistics against the softmax it claims to sample from.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>

#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "runtime/random.hpp"
#include "runtime/sampler_steps.hpp"

using namespace llama3;

namespace {

// Logits whose softmax (at temperature 1) is exactly the given probabilities.
std::vector<float> logits_of(std::initializer_list<double> probabilities) {
  std::vector<float> logits;
  for (double p : probabilities) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

SamplerParams plain(float temperature = 1.0f) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_p = 1.0f;
  return p;
}

std::vector<float> random_logits(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 gen(seed);
  std::vector<float> logits(n);
  // Built from raw bits so the test data too is the same everywhere.
  for (auto& l : logits)
    l = static_cast<float>(static_cast<double>(gen() >> 11) * 0x1.0p-53 * 20.0 - 10.0);
  return logits;
}

void check_candidates(const std::vector<TokenProbability>& got,
                      const std::vector<std::pair<TokenId, double>>& expected) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("candidate " << i);
    CHECK(got[i].id == expected[i].first);
    CHECK(got[i].probability == Approx(expected[i].second).margin(1e-5));
  }
}

}  // namespace

TEST_CASE("greedy sampling picks the argmax, lowest id on ties", "[sampler]") {
  Sampler greedy(plain(0.0f));
  const std::vector<float> logits{0.5f, 3.0f, -1.0f, 3.0f, 2.9f};
  CHECK(greedy.sample(logits) == 1);
  Sampler negative_temperature(plain(-1.0f));
  CHECK(negative_temperature.sample(logits) == 1);
  check_candidates(greedy.candidates(logits), {{1, 1.0}});
}

TEST_CASE("top-k = 1 samples exactly what greedy picks", "[sampler]") {
  const std::uint64_t seed = 20240601;
  std::printf("top-k=1 vs greedy: seed %llu\n", static_cast<unsigned long long>(seed));
  SamplerParams params = plain(1.5f);
  params.top_k = 1;
  params.seed = seed;
  Sampler top1(params);
  Sampler greedy(plain(0.0f));
  for (std::uint64_t row = 0; row < 50; ++row) {
    const auto logits = random_logits(seed + row, 1000);
    CHECK(top1.sample(logits) == greedy.sample(logits));
  }
}

TEST_CASE("top-k keeps the k best with renormalised probabilities", "[sampler]") {
  SamplerParams params = plain();
  params.top_k = 2;
  Sampler sampler(params);
  check_candidates(sampler.candidates(logits_of({0.1, 0.4, 0.2, 0.3})),
                   {{1, 0.4 / 0.7}, {3, 0.3 / 0.7}});
}

TEST_CASE("top-p keeps the shortest prefix reaching p", "[sampler]") {
  const auto logits =
      logits_of({0.1, 0.4, 0.2, 0.3});  // sorted: 1 (0.4), 3 (0.3), 2 (0.2), 0 (0.1)
  SamplerParams params = plain();

  params.top_p = 0.65f;  // 0.4 < 0.65 <= 0.7
  check_candidates(Sampler(params).candidates(logits), {{1, 0.4 / 0.7}, {3, 0.3 / 0.7}});
  params.top_p = 0.75f;  // 0.7 < 0.75 <= 0.9
  check_candidates(Sampler(params).candidates(logits),
                   {{1, 0.4 / 0.9}, {3, 0.3 / 0.9}, {2, 0.2 / 0.9}});
  params.top_p = 0.0f;  // always at least one token
  check_candidates(Sampler(params).candidates(logits), {{1, 1.0}});
  params.top_p = 1.0f;  // off
  check_candidates(Sampler(params).candidates(logits), {{1, 0.4}, {3, 0.3}, {2, 0.2}, {0, 0.1}});

  SECTION("draws only ever return the kept tokens, and all of them") {
    params.top_p = 0.65f;
    std::set<TokenId> seen;
    for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
      params.seed = seed;
      seen.insert(Sampler(params).sample(logits));
    }
    CHECK(seen == std::set<TokenId>{1, 3});
  }
}

TEST_CASE("top-p's chunked partial sort agrees with a full sort", "[sampler]") {
  const std::uint64_t seed = 77;
  std::printf("top-p chunked sort: seed %llu\n", static_cast<unsigned long long>(seed));
  for (float p : {0.1f, 0.5f, 0.9f, 0.99f, 0.999999f}) {
    const auto logits = random_logits(seed, 5000);
    std::vector<detail::ScoredToken> tokens;
    for (std::size_t i = 0; i < logits.size(); ++i)
      tokens.push_back({static_cast<TokenId>(i), logits[i]});
    auto reference = tokens;
    std::sort(reference.begin(), reference.end(), detail::ranks_before);
    const double max = reference.front().logit;
    double total = 0.0;
    for (const auto& t : reference) total += std::exp(t.logit - max);
    double cumulative = 0.0;
    std::size_t keep = reference.size();
    for (std::size_t i = 0; i < reference.size(); ++i) {
      cumulative += std::exp(reference[i].logit - max) / total;
      if (cumulative >= p) {
        keep = i + 1;
        break;
      }
    }
    bool sorted = false;
    detail::keep_top_p(tokens, p, sorted);
    INFO("p = " << p);
    CHECK(sorted);
    REQUIRE(tokens.size() == keep);
    for (std::size_t i = 0; i < keep; ++i) CHECK(tokens[i].id == reference[i].id);
  }
}

TEST_CASE("min-p drops tokens below min_p times the top probability", "[sampler]") {
  const auto logits = logits_of({0.5, 0.25, 0.15, 0.1});
  SamplerParams params = plain();
  params.min_p = 0.25f;  // threshold 0.125: 0.1 goes
  check_candidates(Sampler(params).candidates(logits),
                   {{0, 0.5 / 0.9}, {1, 0.25 / 0.9}, {2, 0.15 / 0.9}});
  params.min_p = 0.4f;  // threshold 0.2
  check_candidates(Sampler(params).candidates(logits), {{0, 0.5 / 0.75}, {1, 0.25 / 0.75}});
  params.min_p = 1.0f;
  check_candidates(Sampler(params).candidates(logits), {{0, 1.0}});
}

TEST_CASE("temperature sharpens the distribution after truncation", "[sampler]") {
  SamplerParams params = plain(0.5f);  // p^(1/0.5) = p^2
  const auto logits = logits_of({0.1, 0.4, 0.2, 0.3});
  const double z = 0.01 + 0.16 + 0.04 + 0.09;
  check_candidates(Sampler(params).candidates(logits),
                   {{1, 0.16 / z}, {3, 0.09 / z}, {2, 0.04 / z}, {0, 0.01 / z}});
  params.top_p = 0.65f;  // top-p sees the untempered distribution: keeps 1 and 3
  check_candidates(Sampler(params).candidates(logits), {{1, 0.16 / 0.25}, {3, 0.09 / 0.25}});
}

TEST_CASE("penalties change logits exactly as specified", "[sampler]") {
  std::vector<float> logits{2.0f, -1.0f, 0.5f, 3.0f, 0.0f};
  const std::vector<TokenId> recent{0, 1, 0, 3, 4};
  std::vector<TokenId> scratch;
  detail::apply_penalties(logits, recent, {.repeat = 2.0f, .frequency = 0.5f, .presence = 0.25f},
                          scratch);
  CHECK(logits[0] == 2.0f / 2.0f - (2 * 0.5f + 0.25f));   // positive: divided; seen twice
  CHECK(logits[1] == -1.0f * 2.0f - (1 * 0.5f + 0.25f));  // negative: multiplied
  CHECK(logits[2] == 0.5f);                               // not seen: untouched
  CHECK(logits[3] == 3.0f / 2.0f - (1 * 0.5f + 0.25f));
  CHECK(logits[4] == 0.0f * 2.0f - (1 * 0.5f + 0.25f));  // zero counts as <= 0

  std::vector<float> short_row{1.0f};
  CHECK_THROWS_AS(detail::apply_penalties(short_row, recent, {}, scratch), Error);
}

TEST_CASE("penalties see only the last penalty_last_n accepted tokens", "[sampler]") {
  const std::vector<float> logits{1.0f, 0.9f, 0.8f};
  SamplerParams params = plain(0.0f);
  params.repeat_penalty = 10.0f;
  params.penalty_last_n = 2;
  Sampler sampler(params);
  CHECK(sampler.sample(logits) == 0);
  sampler.accept(0);
  CHECK(sampler.sample(logits) == 1);  // 0 penalised to 0.1
  sampler.accept(1);
  CHECK(sampler.sample(logits) == 2);  // 0 and 1 penalised
  sampler.accept(2);
  CHECK(sampler.sample(logits) == 0);  // 0 has left the window of 2
  for (int i = 0; i < 10; ++i) sampler.accept(1);
  CHECK(sampler.sample(logits) == 0);  // trimming the history keeps the window right
  sampler.reset();
  CHECK(sampler.sample(logits) == 0);

  params.penalty_last_n = -1;  // whole history
  Sampler whole(params);
  whole.accept(0);
  for (int i = 0; i < 100; ++i) whole.accept(1);
  CHECK(whole.sample(logits) == 2);
  params.penalty_last_n = 0;  // off
  Sampler off(params);
  off.accept(0);
  CHECK(off.sample(logits) == 0);
}

TEST_CASE("logit bias shifts and bans tokens", "[sampler]") {
  const std::vector<float> logits{3.0f, 1.0f, 0.0f};
  SamplerParams params = plain(0.0f);
  params.logit_bias = {{0, -INFINITY}};
  CHECK(Sampler(params).sample(logits) == 1);
  params.logit_bias = {{2, 2.0f}, {2, 2.0f}};  // biases add up: 4 > 3
  CHECK(Sampler(params).sample(logits) == 2);

  params = plain(2.0f);
  params.logit_bias = {{0, -INFINITY}};
  for (std::uint64_t seed = 1; seed <= 500; ++seed) {
    params.seed = seed;
    CHECK(Sampler(params).sample(logits) != 0);
  }
  params.logit_bias = {{0, -INFINITY}, {1, -INFINITY}, {2, -INFINITY}};
  CHECK_THROWS_AS(Sampler(params).sample(logits), Error);
  params.logit_bias = {{3, 1.0f}};  // outside the row
  CHECK_THROWS_AS(Sampler(params).sample(logits), Error);
}

TEST_CASE("bad logits are rejected and the caller's logits are untouched", "[sampler]") {
  Sampler sampler(plain());
  CHECK_THROWS_AS(sampler.sample(std::vector<float>{0.0f, NAN}), Error);
  CHECK_THROWS_AS(sampler.sample(std::vector<float>{0.0f, INFINITY}), Error);
  CHECK_THROWS_AS(sampler.sample(std::vector<float>{-INFINITY, -INFINITY}), Error);
  CHECK_THROWS_AS(sampler.sample(std::vector<float>{}), Error);
  Sampler greedy(plain(0.0f));
  CHECK_THROWS_AS(greedy.sample(std::vector<float>{-INFINITY, -INFINITY}), Error);

  SamplerParams params = plain();
  params.repeat_penalty = 3.0f;
  params.logit_bias = {{1, 5.0f}};
  Sampler penalised(params);
  penalised.accept(0);
  const std::vector<float> logits{1.0f, 2.0f, 3.0f};
  const auto copy = logits;
  penalised.sample(logits);
  CHECK(logits == copy);
}

TEST_CASE("the same seed gives the same tokens, another seed other tokens", "[sampler]") {
  const std::uint64_t seed = 1234;
  std::printf("sampler determinism: seed %llu\n", static_cast<unsigned long long>(seed));
  SamplerParams params;  // the defaults: temperature 0.6, top-p 0.9
  params.temperature = 1.0f;
  params.seed = seed;
  Sampler a(params), b(params);
  params.seed = seed + 1;
  Sampler c(params);
  std::vector<TokenId> seq_a, seq_b, seq_c;
  for (std::uint64_t row = 0; row < 64; ++row) {
    const auto logits = random_logits(row, 50);
    seq_a.push_back(a.sample(logits));
    seq_b.push_back(b.sample(logits));
    seq_c.push_back(c.sample(logits));
  }
  CHECK(seq_a == seq_b);
  CHECK(seq_a != seq_c);

  a.reset();  // rewinds the generator too
  std::vector<TokenId> replay;
  for (std::uint64_t row = 0; row < 64; ++row) replay.push_back(a.sample(random_logits(row, 50)));
  CHECK(replay == seq_a);
}

TEST_CASE("the generator is xoshiro256** seeded by splitmix64, bit for bit", "[sampler]") {
  // splitmix64's published first output for seed 0 (Vigna's splitmix64.c).
  CHECK(detail::seed_random_state(0)[0] == 0xE220A8397B1DCDAFULL);
  // xoshiro256** from the state {1, 2, 3, 4}: first outputs from Vigna's reference
  // xoshiro256starstar.c.
  detail::RandomState state{1, 2, 3, 4};
  CHECK(detail::next_random(state) == 11520ULL);
  CHECK(detail::next_random(state) == 0ULL);
  CHECK(detail::next_random(state) == 1509978240ULL);
  CHECK(detail::next_random(state) == 1215971899390074240ULL);
  for (int i = 0; i < 1000; ++i) {
    const double u = detail::next_uniform(state);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
  }
}

TEST_CASE("seeded draws follow the softmax probabilities", "[sampler]") {
  const std::uint64_t seed = 987654321;
  std::printf("draw statistics: seed %llu\n", static_cast<unsigned long long>(seed));
  const std::vector<float> logits{1.0f, 0.0f, 2.0f, -1.0f, 0.5f, 1.5f, -0.5f, 0.25f};
  SamplerParams params = plain(0.8f);
  params.seed = seed;
  Sampler sampler(params);
  // The expected distribution is computed here, in double, from the definition
  // p_i = exp(l_i / T) / sum_j exp(l_j / T), not taken from the sampler under test.
  std::vector<double> expected(logits.size());
  double total = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    expected[i] = std::exp(static_cast<double>(logits[i]) / 0.8);
    total += expected[i];
  }
  for (auto& p : expected) p /= total;

  constexpr int kDraws = 20000;
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < kDraws; ++i) ++counts[sampler.sample(logits)];
  double chi_square = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double e = expected[i] * kDraws;
    const double d = counts[i] - e;
    chi_square += d * d / e;
  }
  INFO("chi-square " << chi_square);
  CHECK(chi_square < 24.32);  // 7 degrees of freedom, p = 0.001
}

TEST_CASE("invalid parameters are rejected, naming the field", "[sampler]") {
  auto rejects = [](SamplerParams params, const std::string& field) {
    try {
      Sampler sampler(params);
      FAIL("accepted a bad " << field);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::kInvalidArgument);
      CHECK_THAT(e.what(), Catch::Contains(field));
    }
  };
  SamplerParams p;
  p.top_p = -0.1f;
  rejects(p, "top_p");
  p = {};
  p.top_p = 1.5f;
  rejects(p, "top_p");
  p = {};
  p.min_p = -1.0f;
  rejects(p, "min_p");
  p = {};
  p.temperature = NAN;
  rejects(p, "temperature");
  p = {};
  p.repeat_penalty = 0.0f;
  rejects(p, "repeat_penalty");
  p = {};
  p.frequency_penalty = INFINITY;
  rejects(p, "frequency_penalty");
  p = {};
  p.presence_penalty = NAN;
  rejects(p, "presence_penalty");
  p = {};
  p.penalty_last_n = -2;
  rejects(p, "penalty_last_n");
  p = {};
  p.logit_bias = {{-1, 0.0f}};
  rejects(p, "logit_bias[0].token");
  p = {};
  p.logit_bias = {{0, 1.0f}, {1, INFINITY}};
  rejects(p, "logit_bias[1].bias");

  const SamplerParams defaults;
  CHECK(defaults.temperature == 0.6f);
  CHECK(defaults.top_p == 0.9f);
  CHECK(Sampler(defaults).params().top_p == 0.9f);
}

TEST_CASE("a copied Sampler continues independently and a moved-from one starts afresh",
          "[sampler]") {
  const auto logits = logits_of({0.1, 0.2, 0.3, 0.4});
  Sampler original(plain());
  std::vector<TokenId> first;
  for (int i = 0; i < 5; ++i) first.push_back(original.sample(logits));

  Sampler copy = original;  // same generator position from here on
  std::vector<TokenId> from_original, from_copy;
  for (int i = 0; i < 20; ++i) from_original.push_back(original.sample(logits));
  for (int i = 0; i < 20; ++i) from_copy.push_back(copy.sample(logits));
  CHECK(from_copy == from_original);

  Sampler moved = std::move(copy);
  CHECK(moved.params().seed == plain().seed);
  std::vector<TokenId> after_move;
  for (int i = 0; i < 5; ++i) after_move.push_back(copy.sample(logits));  // NOLINT: fresh state
  CHECK(after_move == first);  // the moved-from sampler is back at the seed
}
