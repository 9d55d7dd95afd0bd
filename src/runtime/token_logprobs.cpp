#include "runtime/token_logprobs.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "llama3/error.hpp"

namespace llama3::runtime {

void check_logprob_options(const GenerateOptions& options) {
  if (options.top_logprobs < 0 || options.top_logprobs > GenerateOptions::kMaxTopLogprobs) {
    throw Error(ErrorCode::kInvalidArgument, "generate: top_logprobs must be in 0.." +
                                                 std::to_string(GenerateOptions::kMaxTopLogprobs) +
                                                 ", got " + std::to_string(options.top_logprobs));
  }
}

GeneratedTokenLogprobs token_logprobs(std::span<const float> logits, TokenId token, int top_k) {
  if (logits.empty() || token < 0 || static_cast<std::size_t>(token) >= logits.size()) {
    throw Error(ErrorCode::kInvalidArgument, "logprobs: token " + std::to_string(token) +
                                                 " outside a row of " +
                                                 std::to_string(logits.size()) + " logits");
  }
  // -inf entries (none in a model's raw row, but harmless) contribute exp(-inf) = 0.
  const double max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float logit : logits) sum += std::exp(static_cast<double>(logit) - max_logit);
  const double log_normalizer = max_logit + std::log(sum);
  auto logprob = [&](TokenId id) {
    return static_cast<float>(static_cast<double>(logits[static_cast<std::size_t>(id)]) -
                              log_normalizer);
  };

  GeneratedTokenLogprobs result;
  result.token = token;
  result.logprob = logprob(token);
  const std::size_t k = std::min(static_cast<std::size_t>(std::max(top_k, 0)), logits.size());
  if (k == 0) return result;
  std::vector<TokenId> ids(logits.size());
  std::iota(ids.begin(), ids.end(), TokenId{0});
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                    [&](TokenId a, TokenId b) {
                      const float la = logits[static_cast<std::size_t>(a)];
                      const float lb = logits[static_cast<std::size_t>(b)];
                      return la > lb || (la == lb && a < b);
                    });
  result.top.reserve(k);
  for (std::size_t i = 0; i < k; ++i) result.top.push_back(TokenLogprob{ids[i], logprob(ids[i])});
  return result;
}

}  // namespace llama3::runtime
