// Drafters for speculative decoding: what proposes the tokens the model then checks in one pass.
// Two kinds: a draft model (its own Session on a smaller model with the same vocabulary) and prompt
// lookup (no model: tokens that followed an earlier occurrence of the context's tail).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "runtime/speculative_sampling.hpp"

namespace llama3::runtime {

// Proposed tokens and, per token, the distribution it was drawn from. `q` is empty when the draft
// is deterministic (greedy draft model, prompt lookup): each q is then one-hot at its token.
struct Draft {
  std::vector<TokenId> tokens;
  std::vector<std::vector<TokenProbability>> q;  // [tokens.size()] or empty

  void clear() {
    tokens.clear();
    q.clear();
  }
};

class Drafter {
 public:
  virtual ~Drafter() = default;
  // Proposes up to max_tokens tokens to follow `context` (every token the model will have seen,
  // the last one not decoded yet). `target_sampler` has accepted that context: a draft model
  // samples with a copy of it, so penalties and a grammar apply to the draft too.
  virtual void propose(std::span<const TokenId> context, int max_tokens,
                       const Sampler& target_sampler, const UniformSource& uniform,
                       Draft& draft) = 0;
  // Called once after the prompt is in the model's context, so a draft model reads it during the
  // prompt's time rather than the first step's.
  virtual void prefill(std::span<const TokenId> /*context*/) {}
};

// Checks the options against the target (ranges, both kinds at once, the draft model's vocabulary
// and special tokens); throws kInvalidArgument naming the problem.
void check_speculative_options(const Model& target, const SpeculativeOptions& options);

// Checks, then builds the drafter the options ask for. A draft model's session gets the context
// window n_ctx (the target's).
std::unique_ptr<Drafter> make_drafter(const Model& target, int n_ctx,
                                      const SpeculativeOptions& options);
std::unique_ptr<Drafter> make_drafter(const Session& target, const SpeculativeOptions& options);

}  // namespace llama3::runtime
