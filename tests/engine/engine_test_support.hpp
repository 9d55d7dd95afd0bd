// What the engine tests share: the tiny random-weight model, deterministic prompts, a request that
// records every row of logits its tokens were sampled from, and running requests together.
#pragma once

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "llama3/engine.hpp"
#include "support/test_models.hpp"

namespace llama3::testing {

inline const Model& engine_test_model() {
  static const Model model =
      Model::load(make_test_model("--shape tiny --type q8_0 --seed 11", "engine-q8_0.gguf"));
  return model;
}

// A prompt of n ids of the tiny model's 512, different for each `salt`.
inline std::vector<TokenId> test_prompt(std::size_t n, unsigned salt) {
  std::vector<TokenId> tokens;
  for (std::size_t i = 0; i < n; ++i) {
    tokens.push_back(static_cast<TokenId>((i * 37 + salt * 101 + 11) % 512));
  }
  return tokens;
}

// Every logits row a request sampled from, concatenated [n_samples, n_vocab].
struct RecordedRun {
  std::vector<float> logits;
  EngineResult result;
};

// A request with a seeded sampler (greedy when temperature is 0) whose logits go into `record`.
inline EngineRequest recording_request(std::vector<TokenId> prompt, int max_tokens,
                                       std::uint64_t seed, RecordedRun& record,
                                       float temperature = 0.8f) {
  EngineRequest request;
  request.prompt = std::move(prompt);
  request.sampling.temperature = temperature;
  request.sampling.seed = seed;
  request.generate.max_tokens = max_tokens;
  request.on_logits = [&record](std::span<const float> logits) {
    record.logits.insert(record.logits.end(), logits.begin(), logits.end());
  };
  return request;
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// One request of run_jobs: its prompt, generation options (speculative decoding included) and
// sampling (greedy at temperature 0).
struct EngineJob {
  std::vector<TokenId> prompt;
  GenerateOptions generate;
  float temperature = 0.0f;
  std::uint64_t seed = 1;
};

// Runs the jobs together on an engine over `model` that the caller's thread steps, recording
// every row each one sampled from; `stats` gets the engine's figures at the end.
inline std::vector<RecordedRun> run_jobs(const Model& model, const std::vector<EngineJob>& jobs,
                                         EngineOptions options, EngineStats* stats = nullptr) {
  options.background = false;
  Engine engine(model, options);
  std::vector<RecordedRun> runs(jobs.size());
  std::vector<Engine::RequestId> ids;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EngineRequest request = recording_request(jobs[i].prompt, jobs[i].generate.max_tokens,
                                              jobs[i].seed, runs[i], jobs[i].temperature);
    auto on_logits = std::move(request.on_logits);
    request.generate = jobs[i].generate;
    request.on_logits = std::move(on_logits);
    ids.push_back(engine.submit(std::move(request)));
  }
  while (engine.step()) {
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) runs[i].result = engine.wait(ids[i]);
  if (stats) *stats = engine.stats();
  return runs;
}

// Speculative decoding changes nothing a greedy request sees: the same tokens, text and stop, and
// every row sampled from with the same bits.
inline void check_same_run(const RecordedRun& plain, const RecordedRun& speculative) {
  REQUIRE(speculative.result.state == plain.result.state);
  CHECK(speculative.result.generation.tokens == plain.result.generation.tokens);
  CHECK(speculative.result.generation.text == plain.result.generation.text);
  CHECK(speculative.result.generation.stop_reason == plain.result.generation.stop_reason);
  CHECK(same_bits(speculative.logits, plain.logits));
}

}  // namespace llama3::testing
