// Log-probabilities of generated tokens under the model's raw logits (GenerateOptions::logprobs),
// shared by Session::generate and the engine through GenerationOutput.
#pragma once

#include <span>

#include "llama3/session.hpp"

namespace llama3::runtime {

// Throws Error(kInvalidArgument) when top_logprobs is outside 0..kMaxTopLogprobs.
void check_logprob_options(const GenerateOptions& options);

// `token`'s log-softmax over `logits` [n_vocab] and the `top_k` largest entries (highest first,
// ties: lowest id). Computed in double so a 128K-entry row sums without losing the tail.
GeneratedTokenLogprobs token_logprobs(std::span<const float> logits, TokenId token, int top_k);

}  // namespace llama3::runtime
