// Sampler: picks the next token from a row of logits through a fixed chain
//   logit bias -> repetition/frequency/presence penalties -> top-k -> top-p -> min-p -> temperature
//   -> seeded draw (or greedy argmax when temperature <= 0).
// The chain order is llama.cpp's (common/sampling.cpp). Note that Meta's reference divides by the
// temperature *before* top-p; here top-p sees the untempered distribution, as in llama.cpp.
//
// Same seed + same sequence of logits and accepted tokens -> same tokens on every platform: the
// draw uses our own xoshiro256** generator and builds its uniform double from the generator's bits,
// never the implementation-defined std:: distributions.
//
// A Sampler is cheap, owns per-call scratch space (no allocation per call once sized) and is not
// safe to use from two threads at once; give each Session its own. Copies are independent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "llama3/grammar.hpp"
#include "llama3/tokenizer.hpp"

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

class Model;

// Internal types stay hidden in the library (they are named here only as opaque pointers).
#pragma GCC visibility pop
namespace detail {
struct SamplerState;
struct SamplerAccess;
}  // namespace detail
#pragma GCC visibility push(default)

// Adds `bias` to the logit of `token` before anything else. -infinity bans the token. Several
// entries for one token add up.
struct LogitBias {
  TokenId token = 0;
  float bias = 0.0f;
};

// Defaults follow Meta's recommendation for the Llama 3 instruct models (HF generation_config.json
// and Meta's generation.py): temperature 0.6, top_p 0.9, no top-k, no min-p, no penalties. They are
// what Meta evaluated the models with, so a user who changes nothing gets the behaviour Meta
// intended. (llama.cpp's own defaults, top_k 40 / top_p 0.95 / min_p 0.05 / temperature 0.8, are
// one setting away.) The seed is fixed rather than random so that a program is reproducible unless
// the caller asks otherwise: pass a seed from std::random_device or the clock for varied output.
struct SamplerParams {
  // <= 0: greedy (argmax, lowest id on ties); otherwise logits are divided by it.
  float temperature = 0.6f;
  std::int32_t top_k = 0;  // keep the k most likely tokens; <= 0: off
  // Keep the shortest most-likely-first prefix whose mass reaches top_p; 1: off. In [0, 1].
  float top_p = 0.9f;
  float min_p = 0.0f;  // keep tokens with prob >= min_p * (max prob); 0: off. In [0, 1]
  // Penalties apply to tokens among the last `penalty_last_n` accepted ones (see Sampler::accept):
  // a logit l of such a token becomes (l <= 0 ? l * repeat_penalty : l / repeat_penalty)
  // - count * frequency_penalty - (count > 0) * presence_penalty.
  float repeat_penalty = 1.0f;       // 1: off; must be > 0
  float frequency_penalty = 0.0f;    // 0: off
  float presence_penalty = 0.0f;     // 0: off
  std::int32_t penalty_last_n = 64;  // window of accepted tokens; 0: off, -1: the whole history
  std::vector<LogitBias> logit_bias;
  std::uint64_t seed = 0x5EED'1A3A'3000'0001ULL;
  // Structured output: when set, every token the grammar forbids is masked (after bias and
  // penalties, before top-k), and end-of-generation is allowed only once the output is complete.
  // The sampler follows the output through accept(); prompt tokens go through accept_prompt().
  std::optional<Grammar> grammar;
};

// The sampling `model`'s checkpoint recommends (Model::generation_defaults(), from a HF folder's
// generation_config.json) on top of SamplerParams{}; GGUF files carry none and get SamplerParams{}.
SamplerParams default_sampler_params(const Model& model);

// A token that survived the chain, with its final probability (after temperature).
struct TokenProbability {
  TokenId id = 0;
  float probability = 0.0f;
};

class Sampler {
 public:
  // Throws Error(kInvalidArgument) naming the field when a parameter is out of range (NaN anywhere,
  // top_p or min_p outside [0, 1], repeat_penalty <= 0, penalty_last_n < -1, a negative bias token,
  // a bias that is neither finite nor -infinity).
  explicit Sampler(SamplerParams params = {});
  ~Sampler();
  Sampler(const Sampler& other);
  Sampler& operator=(const Sampler& other);
  // A moved-from Sampler is fresh: its parameters, an empty history and the generator at the seed.
  Sampler(Sampler&& other);
  Sampler& operator=(Sampler&& other);

  // Picks the next token from one row of logits (one per vocabulary entry). The caller's logits are
  // not modified. Throws Error(kInvalidArgument) on a NaN or +inf logit, a bias or history token
  // outside the row, or when every token is banned (-inf). Does not record the token: call
  // accept().
  TokenId sample(std::span<const float> logits);

  // The tokens a draw from `logits` could return, most likely first (ties: lowest id), with their
  // probabilities; greedy sampling gives the argmax with probability 1. Advances no random state.
  std::vector<TokenProbability> candidates(std::span<const float> logits);

  // Records a token that was emitted so the penalties can see it, and advances the grammar if
  // there is one. Throws Error(kInvalidArgument) when the grammar forbids the token.
  void accept(TokenId token);
  // Records a prompt token for the penalties only (a grammar constrains the output, not the
  // prompt).
  void accept_prompt(TokenId token);

  // Forgets the history and rewinds the generator to the seed: the next samples repeat the first
  // ones.
  void reset();

  const SamplerParams& params() const;

 private:
  friend struct detail::SamplerAccess;  // the library's own view (speculative decoding's draws)
  std::unique_ptr<detail::SamplerState> state_;  // history, generator and scratch (src/runtime)
};

}  // namespace llama3

#pragma GCC visibility pop
