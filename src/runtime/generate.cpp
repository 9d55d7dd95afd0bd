// The generation loop: sample, stop on end-of-generation / stop strings / limits, stream UTF-8
// pieces.
#include <algorithm>
#include <chrono>
#include <optional>

#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "runtime/session_impl.hpp"

namespace llama3 {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Holds back the end of the produced text that could still grow into a stop string, so a caller
// never sees text that is later cut.
class StopStringFilter {
 public:
  explicit StopStringFilter(const std::vector<std::string>& stops) : stops_(stops) {
    for (const auto& stop : stops_) longest_ = std::max(longest_, stop.size());
  }

  // Adds text; returns the part now safe to hand out. Sets `stopped` when a stop string appeared.
  std::string push(const std::string& piece, bool& stopped) {
    text_ += piece;
    std::size_t cut = std::string::npos;
    for (const auto& stop : stops_) {
      if (stop.empty()) continue;
      const std::size_t search_from = emitted_ > stop.size() ? emitted_ - stop.size() : 0;
      const std::size_t at = text_.find(stop, search_from);
      if (at != std::string::npos) cut = std::min(cut, at);
    }
    if (cut != std::string::npos) {
      stopped = true;
      text_.resize(std::max(cut, emitted_));
      return take(text_.size());
    }
    // Keep the last longest-1 bytes back, moved to a UTF-8 character boundary.
    std::size_t safe = text_.size() > longest_ ? text_.size() - (longest_ ? longest_ - 1 : 0) : 0;
    if (longest_ == 0) safe = text_.size();
    while (safe > emitted_ && safe < text_.size() &&
           (static_cast<unsigned char>(text_[safe]) & 0xC0) == 0x80) {
      --safe;
    }
    return take(std::max(safe, emitted_));
  }

  std::string finish() { return take(text_.size()); }
  const std::string& text() const { return text_; }

 private:
  std::string take(std::size_t up_to) {
    std::string ready = text_.substr(emitted_, up_to - emitted_);
    emitted_ = up_to;
    return ready;
  }

  const std::vector<std::string>& stops_;
  std::size_t longest_ = 0;
  std::string text_;
  std::size_t emitted_ = 0;
};

// Runs the output filters over each piece and once at the end, and keeps the text actually handed
// out. The candidate piece is appended to that text in place while a filter looks at it, so a
// filter sees "everything so far + piece" without a copy of the whole text per piece.
class OutputFilterChain {
 public:
  OutputFilterChain(const std::vector<OutputFilter>& filters, GenerateResult& result)
      : filters_(filters), result_(result) {}

  // Filters `piece` (rewritten by redactions). Returns false, with the result marked kFiltered,
  // when a filter stopped generation: the piece is then withheld.
  bool filter(std::string& piece) {
    for (const auto& filter : filters_) {
      const std::size_t base = text_.size();
      text_ += piece;
      const OutputEvent event{std::string_view(text_).substr(base), text_, false};
      OutputVerdict verdict = filter(event);
      text_.resize(base);
      if (!verdict.note.empty()) result_.notes.push_back(std::move(verdict.note));
      if (verdict.action == OutputVerdict::Action::kStop) {
        mark_filtered(std::move(verdict.reason));
        return false;
      }
      if (verdict.action == OutputVerdict::Action::kRedact) piece = std::move(verdict.replacement);
      if (piece.empty()) return true;  // redacted away: nothing left for later filters to see
    }
    text_ += piece;
    return true;
  }

  // The once-at-the-end call over the whole text.
  void finish() {
    for (const auto& filter : filters_) {
      OutputVerdict verdict = filter(OutputEvent{{}, text_, true});
      if (!verdict.note.empty()) result_.notes.push_back(std::move(verdict.note));
      if (verdict.action == OutputVerdict::Action::kStop) {
        mark_filtered(std::move(verdict.reason));
        return;
      }
      if (verdict.action == OutputVerdict::Action::kRedact) text_ = std::move(verdict.replacement);
    }
  }

  const std::string& text() const { return text_; }

 private:
  void mark_filtered(std::string reason) {
    result_.stop_reason = StopReason::kFiltered;
    result_.filter_reason = std::move(reason);
  }

  const std::vector<OutputFilter>& filters_;
  GenerateResult& result_;
  std::string text_;  // handed out so far
};

void require_tokenizer(const Model& model, const char* what) {
  if (!model.has_tokenizer()) {
    throw Error(ErrorCode::kInvalidArgument, std::string("generate: ") + what +
                                                 " need a model with a tokenizer (they read text)");
  }
}

// A prompt led by BOS is a whole context (BOS belongs only at position 0). Keeps the longest
// common prefix of the session's tokens and the prompt, drops the rest, and returns how many
// prompt tokens need no decoding. Any other prompt continues the context: nothing is reused.
std::size_t reuse_context_prefix(Session& session, std::span<const TokenId> prompt) {
  const Model& model = session.model();
  if (session.n_past() == 0 || prompt.empty() || !model.has_tokenizer()) return 0;
  const TokenId bos = model.tokenizer().bos_id();
  if (bos < 0 || prompt.front() != bos) return 0;
  const auto known = session.tokens();
  const auto mismatch = std::mismatch(known.begin(), known.end(), prompt.begin(), prompt.end());
  auto common = static_cast<std::size_t>(mismatch.first - known.begin());
  // The last prompt token's logits are needed to sample: they are at hand only when it is also
  // the context's last token. Otherwise that token is decoded again.
  const bool logits_at_hand =
      common == prompt.size() && common == known.size() && !session.logits().empty();
  if (common == prompt.size() && !logits_at_hand) --common;
  session.truncate(static_cast<int>(common));
  return common;
}

// With options.context_shift, drops the older half of what follows the kept tokens (llama.cpp's
// --context-shift rule). Returns false when there is nothing to drop.
bool make_room(Session& session, const GenerateOptions& options) {
  if (!options.context_shift) return false;
  int n_keep = std::max(options.n_keep, 0);
  const auto tokens = session.tokens();
  const Model& model = session.model();
  if (n_keep == 0 && !tokens.empty() && model.has_tokenizer() &&
      tokens.front() == model.tokenizer().bos_id()) {
    n_keep = 1;  // the BOS is always kept
  }
  const int n_discard = (session.n_past() - n_keep) / 2;
  if (n_discard <= 0) return false;
  session.shift_context(n_keep, n_discard);
  return true;
}

}  // namespace

GenerateResult Session::generate(std::span<const TokenId> prompt, Sampler& sampler,
                                 const GenerateOptions& options) {
  if (options.max_tokens < 0) {
    throw Error(ErrorCode::kInvalidArgument, "generate: max_tokens must be >= 0");
  }
  if (options.n_keep < 0 || (options.context_shift && options.n_keep >= context_size() - 1)) {
    throw Error(ErrorCode::kInvalidArgument,
                "generate: n_keep must be >= 0 and leave room to shift in a context of " +
                    std::to_string(context_size()));
  }
  const Model& model = impl_->model();
  GenerateResult result;
  if (!options.input_filters.empty() && !prompt.empty()) {
    require_tokenizer(model, "input filters");
    const std::string prompt_text = model.tokenizer().decode(prompt, /*render_special=*/true);
    for (const auto& filter : options.input_filters) {
      InputVerdict verdict = filter(prompt_text);
      if (verdict.block) {
        result.stop_reason = StopReason::kBlocked;
        result.filter_reason = std::move(verdict.reason);
        return result;  // before prefill: the session is exactly as it was
      }
    }
  }
  result.n_prompt_tokens = static_cast<int>(prompt.size());
  const auto prompt_start = Clock::now();
  const std::size_t reused = reuse_context_prefix(*this, prompt);
  result.n_cached_tokens = static_cast<int>(reused);
  if (reused < prompt.size()) {
    decode(prompt.subspan(reused));
  } else if (logits().empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "generate: empty prompt and nothing decoded yet (start with at least BOS)");
  }
  for (TokenId id : prompt) sampler.accept_prompt(id);
  result.prompt_seconds = seconds_since(prompt_start);

  std::optional<StreamDecoder> stream;
  if (model.has_tokenizer()) {
    // The generated text starts the text only when nothing but control tokens (BOS) came before.
    const auto& tokenizer = model.tokenizer();
    const bool at_text_start = n_past() == static_cast<int>(prompt.size()) &&
                               std::all_of(prompt.begin(), prompt.end(), [&](TokenId id) {
                                 return tokenizer.kind(id) == TokenKind::kControl;
                               });
    stream.emplace(tokenizer, /*render_special=*/false, at_text_start);
  }
  StopStringFilter filter(options.stop_strings);
  std::optional<OutputFilterChain> output_filters;
  if (!options.output_filters.empty()) {
    require_tokenizer(model, "output filters");
    output_filters.emplace(options.output_filters, result);
  }

  // Output filters first (they may withhold or rewrite the piece), then the caller.
  enum class HandOut { kContinue, kCallbackStop, kFilterStop };
  auto hand_out = [&](std::string text) {
    if (text.empty()) return HandOut::kContinue;
    if (output_filters && !output_filters->filter(text)) return HandOut::kFilterStop;
    if (text.empty() || !options.on_piece) return HandOut::kContinue;
    return options.on_piece(text) ? HandOut::kContinue : HandOut::kCallbackStop;
  };

  const auto generate_start = Clock::now();
  result.stop_reason = StopReason::kMaxTokens;
  while (static_cast<int>(result.tokens.size()) < options.max_tokens) {
    const TokenId id = sampler.sample(logits());
    sampler.accept(id);
    if (stream && model.tokenizer().is_end_of_generation(id)) {
      result.stop_reason = StopReason::kEndOfGeneration;
      break;
    }
    result.tokens.push_back(id);
    bool stopped = false;
    const std::string ready = stream ? filter.push(stream->push(id), stopped) : std::string();
    const HandOut handed = hand_out(ready);
    if (handed == HandOut::kFilterStop) break;  // the chain set kFiltered and the reason
    if (handed == HandOut::kCallbackStop) {
      result.stop_reason = StopReason::kCallback;
      break;
    }
    if (stopped) {
      result.stop_reason = StopReason::kStopString;
      break;
    }
    // Every kept token goes into the context, so a later generate() continues the same text.
    if (n_past() >= context_size() && !make_room(*this, options)) {
      result.stop_reason = StopReason::kContextFull;
      break;
    }
    decode(std::span<const TokenId>(&id, 1));
  }
  if (stream && result.stop_reason != StopReason::kStopString &&
      result.stop_reason != StopReason::kCallback && result.stop_reason != StopReason::kFiltered) {
    bool stopped = false;
    std::string rest = filter.push(stream->flush(), stopped);
    if (!stopped) rest += filter.finish();
    hand_out(std::move(rest));  // a filter stop here marks the result itself
  }
  if (output_filters) {
    if (result.stop_reason != StopReason::kFiltered) output_filters->finish();
    result.text = output_filters->text();
  } else {
    result.text = filter.text();
  }
  result.generate_seconds = seconds_since(generate_start);
  return result;
}

}  // namespace llama3
