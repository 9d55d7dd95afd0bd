// Session::truncate, tokens() and generate()'s reuse of the context prefix for BOS-led prompts.
#include <catch2/catch.hpp>

#include <cstring>

#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "support/stories_model.hpp"
#include "support/test_data.hpp"
#include "support/test_models.hpp"

using namespace llama3;
using testing::greedy_sampler;
using testing::stories_model;

namespace {

const Model& tiny_model() {
  static const Model model = Model::load(
      testing::make_test_model("--shape tiny --type q8_0 --seed 7", "session-q8_0.gguf"));
  return model;
}

std::vector<TokenId> some_tokens(std::size_t n, std::size_t salt = 0) {
  std::vector<TokenId> tokens;
  for (std::size_t i = 0; i < n; ++i) {
    tokens.push_back(static_cast<TokenId>((i * 37 + 11 + salt * 101) % 512));
  }
  return tokens;
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

GenerateResult run(Session& session, const std::vector<TokenId>& prompt, int max_tokens) {
  Sampler sampler = greedy_sampler();
  GenerateOptions options;
  options.max_tokens = max_tokens;
  return session.generate(prompt, sampler, options);
}

}  // namespace

TEST_CASE("truncate drops positions, and decoding after it matches a fresh context", "[runtime]") {
  const auto first = some_tokens(40);
  const auto other_tail = some_tokens(9, 3);
  Session session(tiny_model(), {.n_ctx = 64, .n_threads = 2});
  session.decode(first);
  CHECK(session.tokens().size() == 40);
  session.truncate(25);
  CHECK(session.n_past() == 25);
  CHECK(session.logits().empty());
  CHECK(std::equal(session.tokens().begin(), session.tokens().end(), first.begin()));
  const auto after = session.decode(other_tail);
  const std::vector<float> truncated(after.begin(), after.end());

  std::vector<TokenId> fresh_tokens(first.begin(), first.begin() + 25);
  fresh_tokens.insert(fresh_tokens.end(), other_tail.begin(), other_tail.end());
  Session fresh(tiny_model(), {.n_ctx = 64, .n_threads = 2});
  CHECK(same_bits(truncated, fresh.decode(fresh_tokens)));
  CHECK(std::equal(session.tokens().begin(), session.tokens().end(), fresh_tokens.begin(),
                   fresh_tokens.end()));
}

TEST_CASE("truncate outside 0..n_past is refused and changes nothing", "[runtime]") {
  Session session(tiny_model(), {.n_ctx = 32});
  const auto logits = session.decode(some_tokens(5));
  const std::vector<float> before(logits.begin(), logits.end());
  CHECK_THROWS_AS(session.truncate(6), Error);
  CHECK_THROWS_AS(session.truncate(-1), Error);
  CHECK(session.n_past() == 5);
  CHECK(same_bits(session.logits(), before));
  session.truncate(5);  // a no-op keeps the logits
  CHECK(same_bits(session.logits(), before));
  session.truncate(0);
  CHECK(session.n_past() == 0);
  CHECK(session.tokens().empty());
}

TEST_CASE("saved state records the context's ids", "[runtime]") {
  const auto tokens = some_tokens(12);
  Session a(tiny_model(), {.n_ctx = 32});
  a.decode(tokens);
  Session b(tiny_model(), {.n_ctx = 32});
  b.load_state(a.save_state());
  CHECK(std::equal(b.tokens().begin(), b.tokens().end(), tokens.begin(), tokens.end()));
}

TEST_CASE("a BOS-led prompt on a used session reuses the shared prefix, bit for bit",
          "[runtime][data]") {
  const Model& model = stories_model();
  const auto& tokenizer = model.tokenizer();
  const auto first =
      tokenizer.encode("Once upon a time, there was a little dog", {.add_bos = true});
  const auto second =
      tokenizer.encode("Once upon a time, there was a little cat who", {.add_bos = true});
  // The two prompts share the BOS and "Once upon a time, there was a little".
  std::size_t shared = 0;
  while (shared < first.size() && first[shared] == second[shared]) ++shared;
  REQUIRE(shared > 5);

  Session used(model, {.n_threads = 2});
  const auto warm = run(used, first, 8);
  CHECK(warm.n_cached_tokens == 0);
  const auto reused = run(used, second, 16);
  CHECK(reused.n_cached_tokens == static_cast<int>(shared));
  CHECK(used.n_past() == static_cast<int>(second.size() + reused.tokens.size()));
  const std::vector<float> reused_logits(used.logits().begin(), used.logits().end());

  Session fresh(model, {.n_threads = 2});
  const auto expected = run(fresh, second, 16);
  CHECK(expected.text == reused.text);
  CHECK(expected.tokens == reused.tokens);
  CHECK(same_bits(reused_logits, fresh.logits()));
  // Only one BOS in the context: the second prompt replaced the first, it was not appended.
  CHECK(std::count(used.tokens().begin(), used.tokens().end(), tokenizer.bos_id()) == 1);
}

TEST_CASE("the same BOS-led prompt twice decodes nothing new, or only its last token",
          "[runtime][data]") {
  const Model& model = stories_model();
  const auto prompt = model.tokenizer().encode("The little bird sang", {.add_bos = true});
  Session session(model, {.n_threads = 1});
  session.decode(prompt);  // context == prompt, logits at hand
  const auto again = run(session, prompt, 6);
  CHECK(again.n_cached_tokens == static_cast<int>(prompt.size()));

  // Now the context is longer than the prompt: the last prompt token must be decoded again to get
  // its logits, and the answer equals a fresh run's.
  const auto shorter = run(session, prompt, 6);
  CHECK(shorter.n_cached_tokens == static_cast<int>(prompt.size()) - 1);
  Session fresh(model, {.n_threads = 1});
  CHECK(run(fresh, prompt, 6).tokens == shorter.tokens);
}

TEST_CASE("a prompt without BOS continues the context", "[runtime][data]") {
  const Model& model = stories_model();
  const auto& tokenizer = model.tokenizer();
  const auto start = tokenizer.encode("Tom had a red", {.add_bos = true});
  const auto more = tokenizer.encode(" ball", {.add_bos = false});
  Session session(model, {.n_threads = 1});
  session.decode(start);
  const auto result = run(session, more, 4);
  CHECK(result.n_cached_tokens == 0);
  CHECK(session.n_past() == static_cast<int>(start.size() + more.size() + result.tokens.size()));
}

namespace {

// Shifts a 40-token context (keep 4, drop 16), decodes one more token, and returns the largest
// difference from a fresh decode of the kept tokens and that token, with the fresh logits' scale.
// One layer: there a position's key and value depend only on its token and position, so a fresh
// decode is the exact reference for the shift (with more layers, the moved positions keep what the
// dropped tokens contributed to them, by design). F32 weights keep activations in f32, so only the
// cache's arithmetic differs between the runs.
std::pair<float, float> shift_against_fresh(KvCacheType type) {
  static const Model f32_model = Model::load(testing::make_test_model(
      "--shape tiny --type f32 --seed 7 --layers 1", "session-f32-one-layer.gguf"));
  const auto tokens = some_tokens(40);
  const TokenId next = 77;
  Session shifted(f32_model, {.n_ctx = 48, .kv_cache_type = type});
  shifted.decode(tokens);
  shifted.shift_context(4, 16);
  REQUIRE(shifted.n_past() == 24);
  const auto a = shifted.decode(std::span<const TokenId>(&next, 1));
  const std::vector<float> shifted_logits(a.begin(), a.end());

  std::vector<TokenId> kept(tokens.begin(), tokens.begin() + 4);
  kept.insert(kept.end(), tokens.begin() + 20, tokens.end());
  CHECK(std::equal(shifted.tokens().begin(), shifted.tokens().end() - 1, kept.begin(), kept.end()));
  kept.push_back(next);
  Session fresh(f32_model, {.n_ctx = 48, .kv_cache_type = type});
  const auto b = fresh.decode(kept);
  float worst = 0.0f, scale = 0.0f;
  for (std::size_t i = 0; i < b.size(); ++i) {
    worst = std::max(worst, std::abs(shifted_logits[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return {worst, std::max(1.0f, scale)};
}

}  // namespace

TEST_CASE("a shifted context gives the logits of a fresh decode of the kept tokens, closely",
          "[runtime]") {
  // f32 cache: the extra rotation is a few f32 roundings per key component (relative ~1e-6), far
  // inside 1e-4 of the logits' scale. f16 cache: each moved key is rounded to f16 twice instead of
  // once, one more f16 half-ulp (relative ~5e-4) per moved key value, averaged by attention: 1e-3
  // of the scale bounds it.
  const auto [f32_worst, f32_scale] = shift_against_fresh(KvCacheType::kF32);
  INFO("f32 cache: " << f32_worst << " of scale " << f32_scale);
  CHECK(f32_worst <= 1e-4f * f32_scale);
  const auto [f16_worst, f16_scale] = shift_against_fresh(KvCacheType::kF16);
  INFO("f16 cache: " << f16_worst << " of scale " << f16_scale);
  CHECK(f16_worst <= 1e-3f * f16_scale);
  // q8_0 cache: each moved key is rounded again to new block scales, one more error of up to
  // 0.0045 of its block's largest value (kv_q8_0.hpp), about 9 times f16's: 1e-2 of the scale.
  const auto [q8_worst, q8_scale] = shift_against_fresh(KvCacheType::kQ8_0);
  INFO("q8_0 cache: " << q8_worst << " of scale " << q8_scale);
  CHECK(q8_worst <= 1e-2f * q8_scale);
}

TEST_CASE("shift_context refuses ranges outside the context", "[runtime]") {
  Session session(tiny_model(), {.n_ctx = 32});
  session.decode(some_tokens(10));
  CHECK_THROWS_AS(session.shift_context(5, 6), Error);
  CHECK_THROWS_AS(session.shift_context(-1, 2), Error);
  CHECK_THROWS_AS(session.shift_context(2, 0), Error);
  CHECK(session.n_past() == 10);
}

TEST_CASE("generate with context_shift goes on past a full window, without it, stops",
          "[runtime]") {
  const auto prompt = some_tokens(20);
  GenerateOptions options;
  options.max_tokens = 30;  // more than the 12 free positions
  SamplerParams params;
  params.temperature = 1.0f;
  params.seed = 5;
  Sampler sampler(params);
  Session plain(tiny_model(), {.n_ctx = 32});
  const auto stopped = plain.generate(prompt, sampler, options);
  CHECK(stopped.stop_reason == StopReason::kContextFull);

  options.context_shift = true;
  options.n_keep = 3;
  Session shifting(tiny_model(), {.n_ctx = 32});
  const auto went_on = shifting.generate(prompt, sampler, options);
  CHECK(went_on.stop_reason == StopReason::kMaxTokens);
  CHECK(went_on.tokens.size() == 30);
  CHECK(shifting.n_past() <= 32);
  // The first n_keep prompt tokens are still at the front.
  CHECK(std::equal(prompt.begin(), prompt.begin() + 3, shifting.tokens().begin()));
}
