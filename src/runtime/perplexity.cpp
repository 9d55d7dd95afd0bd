#include "llama3/perplexity.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "llama3/error.hpp"

namespace llama3 {
namespace {

// -log softmax(logits)[target], computed stably in double.
double negative_log_likelihood(std::span<const float> logits, TokenId target) {
  double max_logit = logits[0];
  for (float logit : logits) max_logit = std::max<double>(max_logit, logit);
  double sum = 0.0;
  for (float logit : logits) sum += std::exp(static_cast<double>(logit) - max_logit);
  return std::log(sum) + max_logit - static_cast<double>(logits[static_cast<std::size_t>(target)]);
}

}  // namespace

PerplexityResult evaluate_perplexity(Session& session, std::span<const TokenId> tokens,
                                     const PerplexityOptions& options) {
  const auto n_ctx = static_cast<std::size_t>(session.context_size());
  const auto n_vocab = static_cast<std::size_t>(session.model().config().n_vocab);
  if (tokens.size() < 2 || n_ctx < 2) {
    throw Error(ErrorCode::kInvalidArgument, "perplexity: needs at least 2 tokens and a context of 2");
  }
  const TokenId bos = tokens[0];
  double total = 0.0;
  PerplexityResult result;
  auto report = [&] {
    result.perplexity = std::exp(total / static_cast<double>(std::max<std::size_t>(result.n_scored, 1)));
    if (options.progress) options.progress(result.n_scored, result.perplexity);
  };

  if (options.method == PerplexityOptions::Method::kAllPositions) {
    std::size_t next = 1;  // the next text token to predict
    while (next < tokens.size()) {
      std::vector<TokenId> window{bos};
      const std::size_t count = std::min(n_ctx - 1, tokens.size() - next);
      window.insert(window.end(), tokens.begin() + static_cast<std::ptrdiff_t>(next),
                    tokens.begin() + static_cast<std::ptrdiff_t>(next + count));
      session.reset();
      const auto logits = session.decode_all_logits(window);
      for (std::size_t i = 0; i + 1 < window.size(); ++i) {
        total += negative_log_likelihood(logits.subspan(i * n_vocab, n_vocab), window[i + 1]);
        ++result.n_scored;
      }
      next += count;
      report();
    }
    return result;
  }

  const std::size_t n_chunks = tokens.size() / n_ctx;
  if (n_chunks == 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "perplexity: " + std::to_string(tokens.size()) +
                    " tokens are fewer than one chunk of " + std::to_string(n_ctx));
  }
  for (std::size_t chunk = 0; chunk < n_chunks; ++chunk) {
    const auto begin = tokens.begin() + static_cast<std::ptrdiff_t>(chunk * n_ctx);
    std::vector<TokenId> window(begin, begin + static_cast<std::ptrdiff_t>(n_ctx));
    window[0] = bos;
    session.reset();
    const auto logits = session.decode_all_logits(window);
    for (std::size_t j = n_ctx / 2; j + 1 < n_ctx; ++j) {
      total += negative_log_likelihood(logits.subspan(j * n_vocab, n_vocab), window[j + 1]);
      ++result.n_scored;
    }
    report();
  }
  return result;
}

}  // namespace llama3
