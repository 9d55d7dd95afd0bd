#include <algorithm>
#include <string>

#include "llama3/error.hpp"
#include "runtime/context_shift.hpp"
#include "runtime/memory_budget.hpp"
#include "runtime/session_impl.hpp"

namespace llama3 {
namespace detail {
namespace {

int choose_context(const Model& model, const SessionOptions& options) {
  ModelAccess::require_whole(model, "a Session");
  constexpr int kDefaultContextCap = 4096;
  if (options.n_ctx < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "n_ctx must be >= 0 (0 picks the model's), got " + std::to_string(options.n_ctx));
  }
  const int n_ctx = options.n_ctx > 0 ? options.n_ctx
                                      : std::min(model.config().context_length, kDefaultContextCap);
  // Before the cache is allocated: its pages are only reserved at first, so a context far larger
  // than memory would otherwise fail later, one page at a time.
  runtime::check_session_memory(model.config(), n_ctx, options.kv_cache_type,
                                runtime::ForwardPass::kMaxBatch);
  return n_ctx;
}

}  // namespace

SessionImpl::SessionImpl(const Model& model, const SessionOptions& options)
    : model_(model),
      pool_(options.n_threads),
      cache_(model.config().n_layers, choose_context(model, options), model.config().n_kv_heads,
             model.config().head_dim, options.kv_cache_type),
      forward_(detail::ModelAccess::impl(model), cache_, pool_) {
  set_adapters(options.adapters);
  forward_.set_lora([this](int) { return lora_.get(); });
}

void SessionImpl::decode(std::span<const TokenId> tokens, bool all_logits) {
  if (tokens.empty()) throw Error(ErrorCode::kInvalidArgument, "decode: no tokens given");
  const int n_vocab = model_.config().n_vocab;
  for (TokenId id : tokens) {
    if (id < 0 || id >= n_vocab) {
      throw Error(ErrorCode::kInvalidArgument, "decode: token id " + std::to_string(id) +
                                                   " is outside the vocabulary of " +
                                                   std::to_string(n_vocab));
    }
  }
  if (static_cast<std::size_t>(n_past_) + tokens.size() > static_cast<std::size_t>(n_ctx())) {
    throw Error(ErrorCode::kContextFull, "decode: " + std::to_string(tokens.size()) +
                                             " tokens do not fit: " + std::to_string(n_past_) +
                                             " of " + std::to_string(n_ctx()) +
                                             " context positions are in use");
  }
  if (!should_abort_) {
    forward_.run(tokens, n_past_, all_logits, logits_);
    n_past_ += static_cast<int>(tokens.size());
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    return;
  }
  // With an abort callback the batch runs in slices so the callback is asked between them; on abort
  // the positions already written are dropped again (n_past and logits restored).
  constexpr std::size_t kAbortCheckTokens = 64;
  const int first_position = n_past_;
  std::vector<float> saved_logits =
      tokens.size() > kAbortCheckTokens ? logits_ : std::vector<float>{};
  std::vector<float> all;  // [n_tokens, n_vocab] when all_logits
  for (std::size_t begin = 0; begin < tokens.size(); begin += kAbortCheckTokens) {
    if (should_abort_()) {
      if (begin > 0) logits_ = std::move(saved_logits);
      throw Error(ErrorCode::kCancelled, "decode: aborted by the abort callback after " +
                                             std::to_string(begin) + " of " +
                                             std::to_string(tokens.size()) + " tokens");
    }
    const std::size_t count = std::min(kAbortCheckTokens, tokens.size() - begin);
    forward_.run(tokens.subspan(begin, count), first_position + static_cast<int>(begin), all_logits,
                 logits_);
    if (all_logits) all.insert(all.end(), logits_.begin(), logits_.end());
  }
  if (all_logits) logits_ = std::move(all);
  n_past_ = first_position + static_cast<int>(tokens.size());
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
}

void SessionImpl::truncate(int n_tokens) {
  if (n_tokens < 0 || n_tokens > n_past_) {
    throw Error(ErrorCode::kInvalidArgument, "truncate: " + std::to_string(n_tokens) +
                                                 " is outside 0.." + std::to_string(n_past_) +
                                                 " (the tokens in the context)");
  }
  if (n_tokens == n_past_) return;
  // logits_ holds the rows of the last positions (one row, or a decode_all_logits batch). When the
  // new last position is among them its row stays, so a caller that verified a batch (speculative
  // decoding) and keeps part of it can sample on without decoding again.
  const auto n_vocab = static_cast<std::size_t>(model_.config().n_vocab);
  const auto rows = static_cast<int>(logits_.size() / n_vocab);
  const int kept_row = n_tokens - 1 - (n_past_ - rows);
  if (n_tokens > 0 && kept_row >= 0) {
    const auto from = logits_.begin() + static_cast<std::ptrdiff_t>(kept_row * n_vocab);
    std::copy(from, from + static_cast<std::ptrdiff_t>(n_vocab), logits_.begin());
    logits_.resize(n_vocab);
  } else {
    logits_.clear();  // they belonged to dropped positions
  }
  // The cache rows past n_tokens stay as they are: attention reads only positions < n_past, and
  // the next decode overwrites them.
  n_past_ = n_tokens;
  if (n_tokens == 0) tokens_known_ = true;  // an empty context is fully known
  if (tokens_known_) tokens_.resize(static_cast<std::size_t>(n_tokens));
}

void SessionImpl::shift_context(int n_keep, int n_discard) {
  if (n_keep < 0 || n_discard <= 0 || n_keep > n_past_ - n_discard) {
    throw Error(ErrorCode::kInvalidArgument, "shift_context: keeping " + std::to_string(n_keep) +
                                                 " and dropping " + std::to_string(n_discard) +
                                                 " does not fit the " + std::to_string(n_past_) +
                                                 " tokens in the context");
  }
  const int moved = n_past_ - n_keep - n_discard;  // positions that slide down by n_discard
  runtime::discard_positions(cache_, detail::ModelAccess::impl(model_), n_keep, n_discard, moved);
  n_past_ -= n_discard;
  // Only the last row keeps its meaning: earlier rows of a batch may belong to dropped positions.
  const auto n_vocab = static_cast<std::size_t>(model_.config().n_vocab);
  if (logits_.size() > n_vocab) {
    logits_.erase(logits_.begin(), logits_.end() - static_cast<std::ptrdiff_t>(n_vocab));
  }
  if (tokens_known_) {
    tokens_.erase(tokens_.begin() + n_keep, tokens_.begin() + n_keep + n_discard);
  }
}

}  // namespace detail

Session::Session(const Model& model, const SessionOptions& options)
    : impl_(std::make_unique<detail::SessionImpl>(model, options)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

std::span<const float> Session::decode(std::span<const TokenId> tokens) {
  impl_->decode(tokens, /*all_logits=*/false);
  return impl_->logits();
}

std::span<const float> Session::decode_all_logits(std::span<const TokenId> tokens) {
  impl_->decode(tokens, /*all_logits=*/true);
  return impl_->logits();
}

std::span<const float> Session::logits() const {
  const auto& all = impl_->logits();
  const auto n_vocab = static_cast<std::size_t>(impl_->model().config().n_vocab);
  if (all.size() < n_vocab) return {};
  return std::span<const float>(all).last(n_vocab);
}

void Session::set_abort_callback(std::function<bool()> should_abort) {
  impl_->set_abort_callback(std::move(should_abort));
}

int Session::n_past() const {
  return impl_->n_past();
}
int Session::context_size() const {
  return impl_->n_ctx();
}
void Session::set_adapters(const std::vector<ActiveLora>& adapters) {
  impl_->set_adapters(adapters);
}
void Session::reset() {
  impl_->reset();
}
void Session::truncate(int n_tokens) {
  impl_->truncate(n_tokens);
}
void Session::shift_context(int n_keep, int n_discard) {
  impl_->shift_context(n_keep, n_discard);
}
std::span<const TokenId> Session::tokens() const {
  return impl_->tokens();
}
const Model& Session::model() const {
  return impl_->model();
}

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kEndOfGeneration:
      return "end_of_generation";
    case StopReason::kMaxTokens:
      return "max_tokens";
    case StopReason::kStopString:
      return "stop_string";
    case StopReason::kCallback:
      return "callback";
    case StopReason::kContextFull:
      return "context_full";
    case StopReason::kBlocked:
      return "blocked";
    case StopReason::kFiltered:
      return "filtered";
  }
  return "unknown";
}

}  // namespace llama3
