// Perplexity of a model over a token sequence: exp(mean negative log-likelihood of each token given
// the ones before it).
#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "llama3/session.hpp"

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

struct PerplexityOptions {
  // kChunks scores as llama.cpp's perplexity tool does, so figures compare: the tokens are cut into
  // chunks of the session's context, each chunk's first token becomes BOS, and only predictions in
  // the second half of each chunk are scored (each has at least n_ctx/2 tokens of context).
  // kAllPositions scores every token once, in windows of n_ctx that each start with BOS.
  enum class Method { kChunks, kAllPositions };
  Method method = Method::kChunks;
  // Called after each chunk/window with the predictions scored so far and the running perplexity.
  std::function<void(std::size_t scored, double perplexity)> progress;
};

struct PerplexityResult {
  double perplexity = 0.0;
  std::size_t n_scored = 0;  // predictions that entered the mean
};

// `tokens` starts with BOS. Uses `session` from an empty context (it is reset before each window).
// Throws kInvalidArgument when there are too few tokens for one chunk/window.
PerplexityResult evaluate_perplexity(Session& session, std::span<const TokenId> tokens,
                                     const PerplexityOptions& options = {});

}  // namespace llama3

#pragma GCC visibility pop
