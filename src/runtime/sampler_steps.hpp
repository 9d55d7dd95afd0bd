// The steps of the Sampler chain as plain functions, so each can be tested on hand-made numbers.
// Candidate lists are kept in a canonical order (vocabulary order, or "most likely first, lowest id
// on ties" once a step has sorted them), so a draw over them is the same with every standard
// library.
#pragma once

#include <span>
#include <vector>

#include "llama3/sampler.hpp"

namespace llama3::detail {

// A token still in the running, with its logit after bias and penalties.
struct ScoredToken {
  TokenId id;
  float logit;
};

// Adds each bias to its token's logit. Throws kInvalidArgument for a token outside `logits`.
void apply_logit_bias(std::span<float> logits, std::span<const LogitBias> biases);

struct Penalties {
  float repeat = 1.0f;
  float frequency = 0.0f;
  float presence = 0.0f;
};

// For each distinct token in `recent` (seen `count` times): l <= 0 ? l * repeat : l / repeat, then
// minus count * frequency + presence. `scratch` is reused to count without allocating per call.
// Throws kInvalidArgument for a token outside `logits`.
void apply_penalties(std::span<float> logits, std::span<const TokenId> recent,
                     const Penalties& penalties, std::vector<TokenId>& scratch);

// True when a ranks before b: higher logit first, then lower id.
inline bool ranks_before(const ScoredToken& a, const ScoredToken& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// Keeps the k best (sorted); k <= 0 or k >= size keeps all. `sorted` says whether the list is in
// ranks_before order, and is updated.
void keep_top_k(std::vector<ScoredToken>& tokens, int k, bool& sorted);

// Keeps the shortest most-likely-first prefix whose softmax mass reaches p (at least one token);
// p >= 1 keeps all. Sorts only as far as needed (partial sorts of growing size).
void keep_top_p(std::vector<ScoredToken>& tokens, float p, bool& sorted);

// Keeps tokens whose probability is at least min_p times the largest (logit >= max + ln min_p);
// min_p <= 0 keeps all. Preserves order.
void keep_min_p(std::vector<ScoredToken>& tokens, float min_p);

// Unnormalised probabilities exp((l - max) / temperature) into `weights`; returns their sum.
double tempered_weights(std::span<const ScoredToken> tokens, float temperature,
                        std::vector<double>& weights);

// The index i whose cumulative weight interval [c_i-1, c_i) holds u * total (u in [0, 1)).
std::size_t draw_index(std::span<const double> weights, double total, double u);

}  // namespace llama3::detail
