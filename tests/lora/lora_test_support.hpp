// What the LoRA tests share: models, adapters written beside them, and logits comparisons.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "llama3/convert.hpp"
#include "llama3/lora.hpp"
#include "llama3/session.hpp"
#include "support/hf_test_models.hpp"
#include "support/lora_test_adapters.hpp"

namespace llama3::testing {

// A prompt of n ids below n_vocab.
inline std::vector<TokenId> lora_test_prompt(std::size_t n, int n_vocab) {
  std::vector<TokenId> tokens;
  for (std::size_t i = 0; i < n; ++i) {
    tokens.push_back(static_cast<TokenId>((i * 131 + 7) % static_cast<std::size_t>(n_vocab)));
  }
  return tokens;
}

// Logits of every position of `tokens` [n_tokens, n_vocab]. The KV cache is f32, so that float32
// rounding differences between two ways of computing a key never flip an f16 rounding.
inline std::vector<float> all_logits(const Model& model, std::span<const TokenId> tokens,
                                     std::vector<ActiveLora> adapters = {}) {
  Session session(model, {.n_ctx = 64,
                          .n_threads = 2,
                          .kv_cache_type = KvCacheType::kF32,
                          .adapters = std::move(adapters)});
  const auto logits = session.decode_all_logits(tokens);
  return {logits.begin(), logits.end()};
}

// max |a - b| / max(1, std(b)): the measure of test_reference_logits.py, independent of the
// logits' scale.
inline double relative_logit_error(const std::vector<float>& a, const std::vector<float>& b) {
  double mean = 0.0, squares = 0.0, worst = 0.0;
  for (float v : b) mean += v;
  mean /= static_cast<double>(b.size());
  for (float v : b) squares += (v - mean) * (v - mean);
  const double scale = std::max(1.0, std::sqrt(squares / static_cast<double>(b.size())));
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return worst / scale;
}

inline bool same_logit_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace llama3::testing
