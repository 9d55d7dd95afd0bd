// What the engine tests share: the tiny random-weight model, deterministic prompts, and a request
// that records every row of logits its tokens were sampled from.
#pragma once

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

}  // namespace llama3::testing
