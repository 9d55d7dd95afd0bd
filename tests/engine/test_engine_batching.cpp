// Engine: every sequence of a batch gives, bit for bit, the logits and tokens it gives alone (and
// that a Session gives), whatever the batch holds and however its prompt is chunked.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "engine/engine_test_support.hpp"
#include "llama3/session.hpp"
#include "support/stories_model.hpp"

using namespace llama3;
using namespace llama3::testing;

namespace {

struct Case {
  std::vector<TokenId> prompt;
  int max_tokens;
  std::uint64_t seed;
};

// Mixed prompt lengths: one token, inside a block, a block exactly, across blocks, several.
std::vector<Case> mixed_cases(int n) {
  const std::size_t lengths[] = {1, 5, 31, 32, 33, 70, 100, 9};
  std::vector<Case> cases;
  for (int i = 0; i < n; ++i) {
    cases.push_back({test_prompt(lengths[i % 8] + static_cast<std::size_t>(i / 8), i),
                     6 + (i * 5) % 11, static_cast<std::uint64_t>(1000 + i)});
  }
  return cases;
}

RecordedRun run_alone(const Case& c) {
  Engine engine(engine_test_model(), {.n_threads = 2, .n_ctx = 256, .background = false});
  RecordedRun run;
  const auto id = engine.submit(recording_request(c.prompt, c.max_tokens, c.seed, run));
  run.result = engine.wait(id);
  return run;
}

}  // namespace

TEST_CASE("a sequence alone in the engine gives a Session's logits bit for bit", "[engine]") {
  for (const Case& c : mixed_cases(8)) {
    const RecordedRun alone = run_alone(c);
    REQUIRE(alone.result.state == RequestState::kFinished);
    Session session(engine_test_model(), {.n_ctx = 256, .n_threads = 1});
    std::vector<float> expected;
    auto logits = session.decode(c.prompt);
    for (TokenId id : alone.result.generation.tokens) {
      expected.insert(expected.end(), logits.begin(), logits.end());
      logits = session.decode(std::span<const TokenId>(&id, 1));
    }
    INFO("prompt of " << c.prompt.size() << " tokens, " << c.max_tokens << " new");
    CHECK(alone.result.generation.tokens.size() == static_cast<std::size_t>(c.max_tokens));
    CHECK(same_bits(alone.logits, expected));
  }
}

TEST_CASE("every sequence of a batch of 1, 2, 7 or 16 gives what it gives alone", "[engine]") {
  const int n = GENERATE(1, 2, 7, 16);
  const auto cases = mixed_cases(n);
  std::vector<RecordedRun> alone;
  for (const Case& c : cases) alone.push_back(run_alone(c));

  // A small step budget so prompts are chunked and share steps with generating sequences.
  const int budget = GENERATE(24, 256);
  Engine engine(engine_test_model(),
                {.n_threads = 2, .n_ctx = 256, .max_step_tokens = budget, .background = false});
  std::vector<RecordedRun> together(cases.size());
  std::vector<Engine::RequestId> ids;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ids.push_back(engine.submit(
        recording_request(cases[i].prompt, cases[i].max_tokens, cases[i].seed, together[i])));
  }
  for (std::size_t i = 0; i < cases.size(); ++i) together[i].result = engine.wait(ids[i]);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("batch of " << n << ", budget " << budget << ", sequence " << i << " (prompt "
                     << cases[i].prompt.size() << ")");
    REQUIRE(together[i].result.state == RequestState::kFinished);
    CHECK(together[i].result.generation.tokens == alone[i].result.generation.tokens);
    CHECK(same_bits(together[i].logits, alone[i].logits));
  }
  CHECK(engine.stats().n_running == 0);
}

TEST_CASE("engine text, stop strings and stop reasons match Session::generate", "[engine]") {
  const Model& model = stories_model();
  const auto& tokenizer = model.tokenizer();
  struct TextCase {
    std::string prompt;
    std::vector<std::string> stops;
    int max_tokens;
    float temperature;
  };
  const std::vector<TextCase> cases = {{"Once upon a time", {}, 40, 0.0f},
                                       {"The little dog", {"."}, 60, 0.8f},
                                       {"Lily and Tom", {"the", "ran"}, 50, 0.9f},
                                       {"One day", {}, 3, 0.0f}};
  std::vector<GenerateResult> expected;
  std::vector<EngineRequest> requests;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    std::vector<TokenId> prompt = {tokenizer.bos_id()};
    const auto text = tokenizer.encode(cases[i].prompt);
    prompt.insert(prompt.end(), text.begin(), text.end());
    SamplerParams params;
    params.temperature = cases[i].temperature;
    params.seed = 77 + i;
    GenerateOptions options;
    options.max_tokens = cases[i].max_tokens;
    options.stop_strings = cases[i].stops;
    Session session(model, {.n_ctx = 256, .n_threads = 1});
    Sampler sampler(params);
    expected.push_back(session.generate(prompt, sampler, options));
    requests.push_back({prompt, params, options, {}, {}});
  }
  Engine engine(model, {.n_threads = 2, .n_ctx = 256});
  std::vector<Engine::RequestId> ids;
  for (auto& request : requests) ids.push_back(engine.submit(request));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    std::string polled;
    while (true) {
      const RequestState state = engine.poll(ids[i], polled);
      if (state != RequestState::kQueued && state != RequestState::kRunning) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    engine.poll(ids[i], polled);
    const EngineResult result = engine.wait(ids[i]);
    INFO("case " << i << ": " << cases[i].prompt);
    REQUIRE(result.state == RequestState::kFinished);
    CHECK(result.generation.tokens == expected[i].tokens);
    CHECK(result.generation.text == expected[i].text);
    CHECK(result.generation.stop_reason == expected[i].stop_reason);
    CHECK(polled == expected[i].text);
  }
}
