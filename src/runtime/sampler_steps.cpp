// The Sampler chain's steps; see sampler_steps.hpp.
#include "runtime/sampler_steps.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "llama3/error.hpp"

namespace llama3::detail {
namespace {

void check_token_in_row(TokenId token, std::size_t n_vocab, const char* what) {
  if (token < 0 || static_cast<std::size_t>(token) >= n_vocab) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("Sampler: ") + what + " token " + std::to_string(token) +
                    " is outside the logits row of " + std::to_string(n_vocab));
  }
}

float max_logit(std::span<const ScoredToken> tokens) {
  float best = -INFINITY;
  for (const auto& token : tokens) best = std::max(best, token.logit);
  return best;
}

}  // namespace

void apply_logit_bias(std::span<float> logits, std::span<const LogitBias> biases) {
  for (const auto& entry : biases) {
    check_token_in_row(entry.token, logits.size(), "logit_bias");
    logits[entry.token] += entry.bias;
  }
}

void apply_penalties(std::span<float> logits, std::span<const TokenId> recent,
                     const Penalties& penalties, std::vector<TokenId>& scratch) {
  // Sorting a copy of the window groups equal tokens, so each run is one token and its count.
  scratch.assign(recent.begin(), recent.end());
  std::sort(scratch.begin(), scratch.end());
  for (std::size_t begin = 0; begin < scratch.size();) {
    std::size_t end = begin + 1;
    while (end < scratch.size() && scratch[end] == scratch[begin]) ++end;
    const TokenId token = scratch[begin];
    check_token_in_row(token, logits.size(), "accepted");
    const auto count = static_cast<float>(end - begin);
    float& logit = logits[token];
    logit = logit <= 0.0f ? logit * penalties.repeat : logit / penalties.repeat;
    logit -= count * penalties.frequency + penalties.presence;
    begin = end;
  }
}

void keep_top_k(std::vector<ScoredToken>& tokens, int k, bool& sorted) {
  if (k <= 0 || static_cast<std::size_t>(k) >= tokens.size()) return;
  if (!sorted) {
    std::nth_element(tokens.begin(), tokens.begin() + k, tokens.end(), ranks_before);
    std::sort(tokens.begin(), tokens.begin() + k, ranks_before);
    sorted = true;
  }
  tokens.resize(static_cast<std::size_t>(k));
}

void keep_top_p(std::vector<ScoredToken>& tokens, float p, bool& sorted) {
  if (p >= 1.0f || tokens.size() <= 1) return;
  const double max = max_logit(tokens);
  double total = 0.0;
  for (const auto& token : tokens) total += std::exp(token.logit - max);

  // A full sort of a 128K vocabulary costs more than the rest of the chain; the kept prefix is
  // usually short, so sort it in chunks that double until the mass is reached.
  std::size_t sorted_count = sorted ? tokens.size() : 0;
  double cumulative = 0.0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i == sorted_count) {
      const std::size_t next = std::min(tokens.size(), std::max<std::size_t>(64, 2 * sorted_count));
      const auto first = tokens.begin() + static_cast<std::ptrdiff_t>(sorted_count);
      const auto last = tokens.begin() + static_cast<std::ptrdiff_t>(next);
      if (last != tokens.end()) std::nth_element(first, last, tokens.end(), ranks_before);
      std::sort(first, last, ranks_before);
      sorted_count = next;
    }
    cumulative += std::exp(tokens[i].logit - max) / total;
    if (cumulative >= p) {
      tokens.resize(i + 1);
      sorted = true;
      return;
    }
  }
  sorted = true;  // rounding kept the sum just under p: everything stays
}

void keep_min_p(std::vector<ScoredToken>& tokens, float min_p) {
  if (min_p <= 0.0f || tokens.size() <= 1) return;
  const double threshold =
      static_cast<double>(max_logit(tokens)) + std::log(static_cast<double>(min_p));
  std::erase_if(tokens, [threshold](const ScoredToken& t) { return t.logit < threshold; });
}

double tempered_weights(std::span<const ScoredToken> tokens, float temperature,
                        std::vector<double>& weights) {
  const double max = max_logit(tokens);
  weights.resize(tokens.size());
  double total = 0.0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    weights[i] = std::exp((tokens[i].logit - max) / temperature);
    total += weights[i];
  }
  return total;
}

std::size_t draw_index(std::span<const double> weights, double total, double u) {
  const double target = u * total;
  double cumulative = 0.0;
  std::size_t last_positive = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0.0) continue;
    cumulative += weights[i];
    last_positive = i;
    if (target < cumulative) return i;
  }
  return last_positive;  // u * total rounded to the very top of the range
}

}  // namespace llama3::detail
