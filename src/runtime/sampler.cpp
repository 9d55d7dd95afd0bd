// Sampler: validation, history, and the chain wired from the steps in sampler_steps.hpp.
#include "llama3/sampler.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "llama3/error.hpp"
#include "llama3/model.hpp"
#include "runtime/random.hpp"
#include "runtime/sampler_access.hpp"
#include "runtime/sampler_steps.hpp"

namespace llama3 {
namespace {

[[noreturn]] void invalid(const std::string& field, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, "SamplerParams." + field + " " + why);
}

void validate(const SamplerParams& p) {
  if (std::isnan(p.temperature)) invalid("temperature", "is NaN");
  if (!(p.top_p >= 0.0f && p.top_p <= 1.0f)) invalid("top_p", "must be in [0, 1]");
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) invalid("min_p", "must be in [0, 1]");
  if (!(p.repeat_penalty > 0.0f) || !std::isfinite(p.repeat_penalty)) {
    invalid("repeat_penalty", "must be finite and > 0 (1 is off)");
  }
  if (!std::isfinite(p.frequency_penalty)) invalid("frequency_penalty", "must be finite");
  if (!std::isfinite(p.presence_penalty)) invalid("presence_penalty", "must be finite");
  if (p.penalty_last_n < -1) invalid("penalty_last_n", "must be >= -1 (-1: whole history)");
  for (std::size_t i = 0; i < p.logit_bias.size(); ++i) {
    const auto& entry = p.logit_bias[i];
    const std::string field = "logit_bias[" + std::to_string(i) + "]";
    if (entry.token < 0) invalid(field + ".token", "is negative");
    if (std::isnan(entry.bias) || entry.bias == INFINITY) {
      invalid(field + ".bias", "must be finite or -infinity");
    }
  }
}

bool penalties_on(const SamplerParams& p) {
  return p.penalty_last_n != 0 &&
         (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f);
}

}  // namespace

namespace detail {

// Everything of a Sampler but its interface: parameters, history, generator and scratch.
struct SamplerState {
  explicit SamplerState(SamplerParams params) : params_(std::move(params)) { reset(); }

  void reset() {
    history_.clear();
    if (params_.grammar) grammar_.emplace(*params_.grammar);
    rng_state_ = seed_random_state(params_.seed);
  }
  void accept(TokenId token);
  void accept_prompt(TokenId token);
  // Bias and penalties applied to a copy of `logits` in working_logits_; throws on NaN / +inf.
  void prepare_logits(std::span<const float> logits);
  // top-k, top-p and min-p over working_logits_ into candidates_ (or only the argmax when greedy).
  void build_candidates();
  // Fills weights_ with the unnormalised tempered probabilities of candidates_; returns their sum.
  double tempered_weights();
  TokenId sample(std::span<const float> logits);
  std::vector<TokenProbability> candidates(std::span<const float> logits);

  SamplerParams params_;
  std::optional<GrammarMatcher> grammar_;  // follows the output when params_.grammar is set
  std::vector<TokenId> history_;  // accepted tokens, oldest first; trimmed to the penalty window
  std::array<std::uint64_t, 4> rng_state_{};  // xoshiro256** (random.hpp)

  // Scratch, reused across calls.
  std::vector<float> working_logits_;    // [n_vocab]
  std::vector<ScoredToken> candidates_;  // [<= n_vocab]
  std::vector<TokenId> window_scratch_;
  std::vector<double> weights_;  // [candidates_.size()]
};

void SamplerState::accept(TokenId token) {
  if (grammar_ && !grammar_->accept(token)) {
    throw Error(ErrorCode::kInvalidArgument,
                "Sampler: token " + std::to_string(token) + " is not allowed by the grammar here");
  }
  accept_prompt(token);
}

void SamplerState::accept_prompt(TokenId token) {
  if (!penalties_on(params_)) return;  // nothing reads the history
  history_.push_back(token);
  // Trim lazily (at twice the window) so accepting stays amortised O(1).
  const auto window = static_cast<std::size_t>(params_.penalty_last_n);
  if (params_.penalty_last_n > 0 && history_.size() >= 2 * window) {
    history_.erase(history_.begin(), history_.end() - static_cast<std::ptrdiff_t>(window));
  }
}

void SamplerState::prepare_logits(std::span<const float> logits) {
  if (logits.empty()) throw Error(ErrorCode::kInvalidArgument, "Sampler: empty logits row");
  working_logits_.assign(logits.begin(), logits.end());
  for (std::size_t i = 0; i < working_logits_.size(); ++i) {
    if (std::isnan(working_logits_[i]) || working_logits_[i] == INFINITY) {
      throw Error(ErrorCode::kInvalidArgument,
                  "Sampler: logit of token " + std::to_string(i) + " is NaN or +infinity");
    }
  }
  apply_logit_bias(working_logits_, params_.logit_bias);
  if (penalties_on(params_)) {
    std::span<const TokenId> recent(history_);
    if (params_.penalty_last_n > 0 &&
        recent.size() > static_cast<std::size_t>(params_.penalty_last_n)) {
      recent = recent.last(static_cast<std::size_t>(params_.penalty_last_n));
    }
    apply_penalties(working_logits_, recent,
                    {params_.repeat_penalty, params_.frequency_penalty, params_.presence_penalty},
                    window_scratch_);
  }
  if (grammar_) grammar_->mask_logits(working_logits_);
}

void SamplerState::build_candidates() {
  candidates_.clear();
  if (params_.temperature <= 0.0f) {
    // Greedy: the first maximum, i.e. the lowest id among equal logits.
    std::size_t best = 0;
    for (std::size_t i = 1; i < working_logits_.size(); ++i) {
      if (working_logits_[i] > working_logits_[best]) best = i;
    }
    if (working_logits_[best] != -INFINITY) {
      candidates_.push_back({static_cast<TokenId>(best), working_logits_[best]});
    }
  } else {
    for (std::size_t i = 0; i < working_logits_.size(); ++i) {
      // A banned token (-inf) can never be drawn; leaving it out keeps the sorts short.
      if (working_logits_[i] != -INFINITY) {
        candidates_.push_back({static_cast<TokenId>(i), working_logits_[i]});
      }
    }
    bool sorted = false;
    keep_top_k(candidates_, params_.top_k, sorted);
    keep_top_p(candidates_, params_.top_p, sorted);
    keep_min_p(candidates_, params_.min_p);
  }
  if (candidates_.empty()) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "Sampler: every token is banned (all logits are -infinity after bias, penalties and "
        "grammar)");
  }
}

double SamplerState::tempered_weights() {
  if (params_.temperature <= 0.0f) {
    weights_.assign(1, 1.0);
    return 1.0;
  }
  return detail::tempered_weights(candidates_, params_.temperature, weights_);
}

TokenId SamplerState::sample(std::span<const float> logits) {
  prepare_logits(logits);
  build_candidates();
  if (params_.temperature <= 0.0f) return candidates_.front().id;
  // One draw per sampled token, even when one candidate is left, so the random stream stays aligned
  // with the token count whatever the truncation did.
  const double u = next_uniform(rng_state_);
  const double total = tempered_weights();
  return candidates_[draw_index(weights_, total, u)].id;
}

std::vector<TokenProbability> SamplerState::candidates(std::span<const float> logits) {
  prepare_logits(logits);
  build_candidates();
  const double total = tempered_weights();
  std::vector<TokenProbability> result;
  result.reserve(candidates_.size());
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    result.push_back({candidates_[i].id, static_cast<float>(weights_[i] / total)});
  }
  std::sort(result.begin(), result.end(), [](const TokenProbability& a, const TokenProbability& b) {
    return a.probability > b.probability || (a.probability == b.probability && a.id < b.id);
  });
  return result;
}

}  // namespace detail

Sampler::Sampler(SamplerParams params) {
  validate(params);
  state_ = std::make_unique<detail::SamplerState>(std::move(params));
}
Sampler::~Sampler() = default;
Sampler::Sampler(const Sampler& other)
    : state_(std::make_unique<detail::SamplerState>(*other.state_)) {}
Sampler& Sampler::operator=(const Sampler& other) {
  if (this != &other) state_ = std::make_unique<detail::SamplerState>(*other.state_);
  return *this;
}
Sampler::Sampler(Sampler&& other)
    : state_(std::make_unique<detail::SamplerState>(other.state_->params_)) {
  std::swap(state_, other.state_);
}
Sampler& Sampler::operator=(Sampler&& other) {
  if (this != &other) {
    state_ = std::move(other.state_);
    other.state_ = std::make_unique<detail::SamplerState>(state_->params_);
  }
  return *this;
}

TokenId Sampler::sample(std::span<const float> logits) {
  return state_->sample(logits);
}
std::vector<TokenProbability> Sampler::candidates(std::span<const float> logits) {
  return state_->candidates(logits);
}
void Sampler::accept(TokenId token) {
  state_->accept(token);
}
void Sampler::accept_prompt(TokenId token) {
  state_->accept_prompt(token);
}
void Sampler::reset() {
  state_->reset();
}
const SamplerParams& Sampler::params() const {
  return state_->params_;
}

double detail::SamplerAccess::next_uniform(Sampler& sampler) {
  return detail::next_uniform(sampler.state_->rng_state_);
}

SamplerParams default_sampler_params(const Model& model) {
  SamplerParams params;
  const auto& recommended = model.generation_defaults();
  if (recommended.temperature) params.temperature = *recommended.temperature;
  if (recommended.top_p) params.top_p = *recommended.top_p;
  if (recommended.top_k) params.top_k = *recommended.top_k;
  return params;
}

}  // namespace llama3
