// A Session with a q8_0 or bf16 KV cache: logits within the tolerance the type's rounding allows,
// the same greedy story from stories260K, prefill bit-identical to token-by-token decoding (every
// row is rounded on its own, and a prompt's queries get one-token decoding's bits), saved state
// that records the type.
//
// The tolerance: f16 keeps each cached value to 2^-11 of itself (an f16 cache stays within 5e-3
// of the logits' scale, test_session.cpp); q8_0 keeps it to 0.57 d = 0.0045 of the largest value
// of its block of 32 (kv_q8_0.hpp), about 9 times coarser, and bf16 to 2^-8 of itself, 8 times
// coarser (and, with AVX512-BF16, rounds queries and softmax weights alike), so the same reasoning
// allows about 9 times as much: 5e-2 of the scale.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "support/stories_model.hpp"
#include "support/test_models.hpp"

using namespace llama3;

namespace {

constexpr float kCompactTolerance = 5e-2f;  // of max(1, max |logit|), see above

std::vector<TokenId> some_tokens(std::size_t n, std::size_t n_vocab) {
  std::vector<TokenId> tokens;
  for (std::size_t i = 0; i < n; ++i) {
    tokens.push_back(static_cast<TokenId>((i * 37 + 11) % n_vocab));
  }
  return tokens;
}

// The largest difference between the logits of a `type` and an f32 cache over `tokens`, and the
// f32 logits' scale max(1, max |logit|).
std::pair<float, float> against_f32(const Model& model, const std::vector<TokenId>& tokens,
                                    KvCacheType type) {
  Session compact(model, {.n_ctx = 64, .n_threads = 2, .kv_cache_type = type});
  Session full(model, {.n_ctx = 64, .n_threads = 2, .kv_cache_type = KvCacheType::kF32});
  const auto a = compact.decode_all_logits(tokens);
  const std::vector<float> compact_logits(a.begin(), a.end());
  const auto b = full.decode_all_logits(tokens);
  float worst = 0.0f, scale = 1.0f;
  for (std::size_t i = 0; i < b.size(); ++i) {
    worst = std::max(worst, std::abs(compact_logits[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return {worst, scale};
}

std::string kv_name(KvCacheType type) {
  return type == KvCacheType::kQ8_0 ? "q8_0" : "bf16";
}

}  // namespace

TEST_CASE("a q8_0 or bf16 KV cache stays within its tolerance of an f32 one", "[runtime]") {
  const KvCacheType type = GENERATE(KvCacheType::kQ8_0, KvCacheType::kBf16);
  INFO(kv_name(type));
  // F32 weights keep activations in f32: only the cache's rounding differs (test_session.cpp).
  static const Model f32_model =
      Model::load(testing::make_test_model("--shape tiny --type f32 --seed 7", "session-f32.gguf"));
  const auto [worst, scale] = against_f32(f32_model, some_tokens(40, 512), type);
  INFO("tiny: " << worst << " of scale " << scale);
  CHECK(worst <= kCompactTolerance * scale);
  CHECK(worst > 0.0f);  // the cache did round
}

TEST_CASE(
    "stories260K with a q8_0 or bf16 KV cache stays within tolerance and tells the same story",
    "[runtime][data]") {
  const KvCacheType type = GENERATE(KvCacheType::kQ8_0, KvCacheType::kBf16);
  INFO(kv_name(type));
  const Model& model = testing::stories_model();
  const auto prompt = model.tokenizer().encode("Once upon a time, there was a little girl named",
                                               {.add_bos = true});
  const auto [worst, scale] = against_f32(model, prompt, type);
  INFO("stories260K: " << worst << " of scale " << scale);
  CHECK(worst <= kCompactTolerance * scale);

  std::string texts[2];
  for (const KvCacheType session_type : {KvCacheType::kF16, type}) {
    Session session(model, {.n_threads = 1, .kv_cache_type = session_type});
    Sampler sampler = testing::greedy_sampler();
    GenerateOptions options;
    options.max_tokens = 60;
    const std::vector<TokenId> bos{model.tokenizer().bos_id()};
    texts[session_type == type] = session.generate(bos, sampler, options).text;
  }
  CHECK(texts[1] == texts[0]);
}

TEST_CASE("with a q8_0 or bf16 cache, prefill in one batch equals decoding token by token",
          "[runtime]") {
  const KvCacheType type = GENERATE(KvCacheType::kQ8_0, KvCacheType::kBf16);
  INFO(kv_name(type));
  static const Model model = Model::load(
      testing::make_test_model("--shape tiny --type q8_0 --seed 7", "session-q8_0.gguf"));
  const auto tokens = some_tokens(70, 512);  // more than one internal chunk of 64
  Session batch(model, {.n_ctx = 128, .n_threads = 2, .kv_cache_type = type});
  const auto all = batch.decode_all_logits(tokens);
  const std::vector<float> batched(all.begin(), all.end());
  Session single(model, {.n_ctx = 128, .n_threads = 1, .kv_cache_type = type});
  const auto n_vocab = static_cast<std::size_t>(model.config().n_vocab);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto logits = single.decode(std::span<const TokenId>(&tokens[i], 1));
    INFO("position " << i);
    REQUIRE(std::equal(logits.begin(), logits.end(), batched.begin() + i * n_vocab));
  }
}

TEST_CASE("a q8_0 or bf16 session's saved state restores it and refuses another type by name",
          "[runtime]") {
  const KvCacheType type = GENERATE(KvCacheType::kQ8_0, KvCacheType::kBf16);
  INFO(kv_name(type));
  static const Model model = Model::load(
      testing::make_test_model("--shape tiny --type q8_0 --seed 7", "session-q8_0.gguf"));
  const auto prompt = some_tokens(9, 512);
  Session original(model, {.n_ctx = 32, .kv_cache_type = type});
  original.decode(prompt);
  const auto state = original.save_state();
  const TokenId next = 5;
  const auto expected_span = original.decode(std::span<const TokenId>(&next, 1));
  const std::vector<float> expected(expected_span.begin(), expected_span.end());

  Session restored(model, {.n_ctx = 32, .kv_cache_type = type});
  restored.load_state(state);
  const auto logits = restored.decode(std::span<const TokenId>(&next, 1));
  CHECK(std::equal(logits.begin(), logits.end(), expected.begin(), expected.end()));

  Session f16(model, {.n_ctx = 32, .kv_cache_type = KvCacheType::kF16});
  try {
    f16.load_state(state);
    FAIL("expected a KV cache type mismatch");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kInvalidArgument);
    CHECK(std::string(error.what())
              .find("saved with a " + kv_name(type) +
                    " KV cache, but this session's cache is f16") != std::string::npos);
  }
  CHECK(f16.n_past() == 0);
}
