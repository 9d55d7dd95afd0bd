// Speculative sampling's acceptance rule; see speculative_sampling.hpp.
#include "runtime/speculative_sampling.hpp"

#include <algorithm>
#include <string>

#include "llama3/error.hpp"

namespace llama3::runtime {
namespace {

double probability_of(std::span<const TokenProbability> distribution, TokenId token) {
  for (const auto& entry : distribution) {
    if (entry.id == token) return entry.probability;
  }
  return 0.0;
}

}  // namespace

TokenId draw_token(std::span<const TokenProbability> distribution, double u) {
  if (distribution.empty()) {
    throw Error(ErrorCode::kInternal, "speculative decoding: drawing from an empty distribution");
  }
  double total = 0.0;
  for (const auto& entry : distribution) total += entry.probability;
  const double target = u * total;
  double cumulative = 0.0;
  std::size_t last_positive = 0;
  for (std::size_t i = 0; i < distribution.size(); ++i) {
    if (distribution[i].probability <= 0.0f) continue;
    cumulative += distribution[i].probability;
    last_positive = i;
    if (target < cumulative) return distribution[i].id;
  }
  return distribution[last_positive].id;  // u * total rounded to the very top
}

SpeculativeVerifier::SpeculativeVerifier(std::size_t n_vocab) : q_dense_(n_vocab, 0.0) {}

SpeculativeVerifier::Verdict SpeculativeVerifier::verify(std::span<const TokenProbability> p,
                                                         TokenId x,
                                                         std::span<const TokenProbability> q,
                                                         const UniformSource& uniform) {
  const double p_x = probability_of(p, x);
  const double q_x = q.empty() ? 1.0 : probability_of(q, x);
  if (q_x > 0.0 && p_x > 0.0) {
    if (p_x >= q_x) return {true, x};  // min(1, p/q) = 1: no draw needed
    if (uniform() * q_x < p_x) return {true, x};
  }

  // Rejected: draw from norm(max(0, p - q)), which lives on p's support.
  for (const auto& entry : q.empty() ? std::span<const TokenProbability>() : q) {
    if (entry.id >= 0 && static_cast<std::size_t>(entry.id) < q_dense_.size()) {
      q_dense_[static_cast<std::size_t>(entry.id)] = entry.probability;
    }
  }
  residual_.clear();
  for (const auto& entry : p) {
    const double q_y =
        q.empty() ? (entry.id == x ? 1.0 : 0.0) : q_dense_[static_cast<std::size_t>(entry.id)];
    const double rest = static_cast<double>(entry.probability) - q_y;
    if (rest > 0.0) residual_.push_back({entry.id, static_cast<float>(rest)});
  }
  for (const auto& entry : q) {
    if (entry.id >= 0 && static_cast<std::size_t>(entry.id) < q_dense_.size()) {
      q_dense_[static_cast<std::size_t>(entry.id)] = 0.0;
    }
  }
  // p == q up to rounding leaves nothing: then p itself is the right law (the acceptance above
  // failed only by rounding).
  const auto from = residual_.empty() ? p : std::span<const TokenProbability>(residual_);
  if (from.size() == 1) return {false, from.front().id};  // certain: no draw (greedy)
  return {false, draw_token(from, uniform())};
}

}  // namespace llama3::runtime
