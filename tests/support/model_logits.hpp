// Logits of a model over a fixed probe sequence, and how far two logit sets are apart: the
// comparisons the Hugging Face, convert and quantize tests make between two loads of one model.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "llama3/model.hpp"
#include "llama3/session.hpp"

namespace llama3::testing {

// Ids below every test vocabulary's size (512), with a repeat and the extremes.
inline const std::vector<TokenId> kProbeTokens = {1, 7, 300, 42, 42, 511, 0, 128, 255, 3, 99, 17};

// Every position's logits, f32 KV cache (so the cache adds no rounding), 2 threads.
inline std::vector<float> all_position_logits(const Model& model,
                                              const std::vector<TokenId>& tokens = kProbeTokens) {
  SessionOptions options;
  options.n_ctx = 64;
  options.n_threads = 2;
  options.kv_cache_type = KvCacheType::kF32;
  Session session(model, options);
  const auto logits = session.decode_all_logits(tokens);
  return {logits.begin(), logits.end()};
}

// Largest |a[i] - b[i]|; infinity when the sizes differ.
inline float max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0.0f;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  }
  return a.size() == b.size() ? worst : INFINITY;
}

}  // namespace llama3::testing
