// GenerateOptions::logprobs on the trained stories260K model: every generated token's logprob and
// top alternatives equal a log-softmax computed here, independently, from the logits a fresh
// session produces for the same tokens.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "support/error_code.hpp"
#include "support/stories_model.hpp"

using namespace llama3;
using testing::stories_model;

namespace {

// log(softmax(row))[id], in long double, from the definition: log(e^l_id / sum_j e^l_j).
double reference_logprob(std::span<const float> row, TokenId id) {
  long double sum = 0.0L;
  for (float logit : row) sum += std::exp(static_cast<long double>(logit));
  return static_cast<double>(std::log(std::exp(static_cast<long double>(row[id])) / sum));
}

}  // namespace

TEST_CASE("generated logprobs equal the log-softmax of the model's logits", "[runtime][data]") {
  const Model& model = stories_model();
  const auto prompt = model.tokenizer().encode("Once upon a time", {.add_bos = true});
  SamplerParams sampling;
  sampling.temperature = 1.0f;  // sampled, so the tokens are not all the argmax
  sampling.top_p = 1.0f;
  sampling.seed = 11;
  Sampler sampler(sampling);
  GenerateOptions options;
  options.max_tokens = 24;
  options.logprobs = true;
  options.top_logprobs = 5;
  Session session(model, {.n_ctx = 128, .n_threads = 1});
  const GenerateResult result = session.generate(prompt, sampler, options);
  REQUIRE(!result.tokens.empty());
  REQUIRE(result.logprobs.size() == result.tokens.size());

  // A fresh session's logits for prompt + generated tokens: row p predicts token p + 1.
  std::vector<TokenId> all(prompt.begin(), prompt.end());
  all.insert(all.end(), result.tokens.begin(), result.tokens.end());
  Session check(model, {.n_ctx = 128, .n_threads = 1});
  const auto rows = check.decode_all_logits(all);
  const auto n_vocab = static_cast<std::size_t>(model.config().n_vocab);
  bool some_token_not_the_argmax = false;
  for (std::size_t i = 0; i < result.tokens.size(); ++i) {
    INFO("generated token " << i);
    const auto row = rows.subspan((prompt.size() - 1 + i) * n_vocab, n_vocab);
    const GeneratedTokenLogprobs& got = result.logprobs[i];
    CHECK(got.token == result.tokens[i]);
    CHECK(got.logprob == Approx(reference_logprob(row, got.token)).margin(1e-4));
    CHECK(got.logprob <= 0.0f);
    REQUIRE(got.top.size() == 5);
    // The top 5 by value, highest first, ties to the lower id.
    std::vector<TokenId> order(n_vocab);
    for (std::size_t id = 0; id < n_vocab; ++id) order[id] = static_cast<TokenId>(id);
    std::stable_sort(order.begin(), order.end(), [&](TokenId a, TokenId b) {
      return row[static_cast<std::size_t>(a)] > row[static_cast<std::size_t>(b)];
    });
    for (std::size_t k = 0; k < 5; ++k) {
      CHECK(got.top[k].token == order[k]);
      CHECK(got.top[k].logprob == Approx(reference_logprob(row, order[k])).margin(1e-4));
    }
    if (got.token != order[0]) some_token_not_the_argmax = true;
  }
  CHECK(some_token_not_the_argmax);  // else the test above would not tell a draw from argmax
}

TEST_CASE("logprobs are off by default and top_logprobs is bounded", "[runtime][data]") {
  const Model& model = stories_model();
  const auto prompt = model.tokenizer().encode("Once", {.add_bos = true});
  Sampler sampler = testing::greedy_sampler();
  Session session(model, {.n_ctx = 64, .n_threads = 1});
  GenerateOptions options;
  options.max_tokens = 3;
  CHECK(session.generate(prompt, sampler, options).logprobs.empty());

  options.logprobs = true;  // top_logprobs 0: the token's own logprob only
  const auto plain = session.generate(prompt, sampler, options);
  REQUIRE(plain.logprobs.size() == plain.tokens.size());
  for (const auto& entry : plain.logprobs) CHECK(entry.top.empty());

  options.top_logprobs = GenerateOptions::kMaxTopLogprobs + 1;
  CHECK(testing::code_of([&] { session.generate(prompt, sampler, options); }) ==
        ErrorCode::kInvalidArgument);
  options.top_logprobs = -1;
  CHECK(testing::code_of([&] { session.generate(prompt, sampler, options); }) ==
        ErrorCode::kInvalidArgument);
}
