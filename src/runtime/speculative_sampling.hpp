// The acceptance rule of speculative sampling (Leviathan et al. 2023, "Fast Inference from
// Transformers via Speculative Decoding"; Chen et al. 2023, "Accelerating Large Language Model
// Decoding with Speculative Sampling"): a token x drafted from q is kept with probability
// min(1, p(x) / q(x)); otherwise the token is drawn from norm(max(0, p - q)). The kept or drawn
// token is then distributed exactly as p. p and q are the sampler's processed distributions (after
// bias, penalties, grammar, top-k/top-p/min-p and temperature: Sampler::candidates), so the
// target's sampling settings are what the output follows.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "llama3/sampler.hpp"

namespace llama3::runtime {

// A uniform double in [0, 1), e.g. from the sampler's generator.
using UniformSource = std::function<double()>;

// Draws from a distribution given as (token, probability) pairs; the probabilities need not sum to
// exactly 1 (they are used relative to their sum).
TokenId draw_token(std::span<const TokenProbability> distribution, double u);

class SpeculativeVerifier {
 public:
  explicit SpeculativeVerifier(std::size_t n_vocab);

  struct Verdict {
    bool accepted = false;
    TokenId token = 0;  // x when accepted, else the draw from the residual
  };

  // Checks draft token x against the target's distribution p. `q` is the draft's distribution; an
  // empty q means a deterministic draft (q is one-hot at x, as for prompt lookup), which reduces
  // the rule to: keep x with probability p(x). Draws only when the outcome is random, so a one-hot
  // p (greedy sampling) never consumes the generator.
  Verdict verify(std::span<const TokenProbability> p, TokenId x,
                 std::span<const TokenProbability> q, const UniformSource& uniform);

 private:
  std::vector<double> q_dense_;  // [n_vocab] q spread out for lookups; zero between calls
  std::vector<TokenProbability> residual_;
};

}  // namespace llama3::runtime
