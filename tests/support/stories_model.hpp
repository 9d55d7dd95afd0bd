// The trained stories260K model (scripts/fetch-data.sh; the test is skipped when it is missing),
// loaded once per test process, and the greedy sampler the stories tests decode with.
#pragma once

#include <string>
#include <vector>

#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "support/test_data.hpp"

namespace llama3::testing {

inline const Model& stories_model() {
  static const Model model = Model::load(require_data_file("stories260K.gguf"));
  return model;
}

// BOS, then the text's tokens.
inline std::vector<TokenId> stories_prompt(const std::string& text) {
  const Tokenizer& tokenizer = stories_model().tokenizer();
  std::vector<TokenId> prompt{tokenizer.bos_id()};
  const auto body = tokenizer.encode(text);
  prompt.insert(prompt.end(), body.begin(), body.end());
  return prompt;
}

inline Sampler greedy_sampler() {
  SamplerParams params;
  params.temperature = 0.0f;
  return Sampler(params);
}

}  // namespace llama3::testing
