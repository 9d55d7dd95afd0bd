// GenerateOptions::logprobs through the engine: each entry equals a log-softmax computed here from
// the logits row the engine sampled that token from (recorded through on_logits), and a bad
// top_logprobs is refused at submit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/engine_test_support.hpp"
#include "llama3/error.hpp"
#include "support/error_code.hpp"

using namespace llama3;
using namespace llama3::testing;

TEST_CASE("engine logprobs equal the log-softmax of the rows the tokens were sampled from",
          "[engine]") {
  Engine engine(engine_test_model(), {.n_threads = 2, .n_ctx = 128, .background = false});
  RecordedRun run;
  EngineRequest request = recording_request(test_prompt(9, 3), 10, 77, run, 1.0f);
  request.generate.logprobs = true;
  request.generate.top_logprobs = 4;
  run.result = engine.wait(engine.submit(std::move(request)));
  const GenerateResult& generated = run.result.generation;
  REQUIRE(run.result.state == RequestState::kFinished);
  REQUIRE(generated.logprobs.size() == generated.tokens.size());
  const std::size_t n_vocab = static_cast<std::size_t>(engine_test_model().config().n_vocab);
  REQUIRE(run.logits.size() == generated.tokens.size() * n_vocab);
  for (std::size_t i = 0; i < generated.tokens.size(); ++i) {
    INFO("token " << i);
    const float* row = run.logits.data() + i * n_vocab;
    long double sum = 0.0L;
    for (std::size_t j = 0; j < n_vocab; ++j) sum += std::exp(static_cast<long double>(row[j]));
    const auto expected = [&](TokenId id) {
      return static_cast<double>(std::log(std::exp(static_cast<long double>(row[id])) / sum));
    };
    const GeneratedTokenLogprobs& entry = generated.logprobs[i];
    CHECK(entry.token == generated.tokens[i]);
    CHECK(entry.logprob == Approx(expected(entry.token)).margin(1e-4));
    std::vector<TokenId> order(n_vocab);
    std::iota(order.begin(), order.end(), TokenId{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](TokenId a, TokenId b) { return row[a] > row[b]; });
    REQUIRE(entry.top.size() == 4);
    for (std::size_t k = 0; k < 4; ++k) {
      CHECK(entry.top[k].token == order[k]);
      CHECK(entry.top[k].logprob == Approx(expected(order[k])).margin(1e-4));
    }
  }

  EngineRequest bad;
  bad.prompt = test_prompt(3, 1);
  bad.generate.top_logprobs = 21;
  CHECK(code_of([&] { engine.submit(std::move(bad)); }) == ErrorCode::kInvalidArgument);
}
