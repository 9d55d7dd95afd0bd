// The per-token half of a generation (generation_output.hpp): streaming, stop strings, filters.
#include "runtime/generation_output.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "llama3/error.hpp"
#include "runtime/token_logprobs.hpp"

namespace llama3::runtime {
namespace {

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

}  // namespace

bool run_input_filters(const Model& model, std::span<const TokenId> prompt,
                       const GenerateOptions& options, GenerateResult& result) {
  if (options.input_filters.empty() || prompt.empty()) return true;
  require_tokenizer(model, "input filters");
  const std::string prompt_text = model.tokenizer().decode(prompt, /*render_special=*/true);
  for (const auto& filter : options.input_filters) {
    InputVerdict verdict = filter(prompt_text);
    if (verdict.block) {
      result.stop_reason = StopReason::kBlocked;
      result.filter_reason = std::move(verdict.reason);
      return false;
    }
  }
  return true;
}

struct GenerationOutput::State {
  State(const Model& model, const GenerateOptions& options, GenerateResult& result,
        bool at_text_start)
      : model(model), options(options), result(result), stop_strings(options.stop_strings) {
    check_logprob_options(options);
    if (model.has_tokenizer()) {
      stream.emplace(model.tokenizer(), /*render_special=*/false, at_text_start);
    }
    if (!options.output_filters.empty()) {
      require_tokenizer(model, "output filters");
      output_filters.emplace(options.output_filters, result);
    }
  }

  enum class HandOut { kContinue, kCallbackStop, kFilterStop };

  // Output filters first (they may withhold or rewrite the piece), then the caller.
  HandOut hand_out(std::string text) {
    if (text.empty()) return HandOut::kContinue;
    if (output_filters && !output_filters->filter(text)) return HandOut::kFilterStop;
    if (text.empty() || !options.on_piece) return HandOut::kContinue;
    return options.on_piece(text) ? HandOut::kContinue : HandOut::kCallbackStop;
  }

  const Model& model;
  const GenerateOptions& options;
  GenerateResult& result;
  std::optional<StreamDecoder> stream;
  StopStringFilter stop_strings;
  std::optional<OutputFilterChain> output_filters;
};

GenerationOutput::GenerationOutput(const Model& model, const GenerateOptions& options,
                                   GenerateResult& result, bool at_text_start)
    : state_(std::make_unique<State>(model, options, result, at_text_start)) {}

GenerationOutput::~GenerationOutput() = default;

bool GenerationOutput::push(TokenId id, std::span<const float> logits) {
  State& s = *state_;
  if (s.stream && s.model.tokenizer().is_end_of_generation(id)) {
    s.result.stop_reason = StopReason::kEndOfGeneration;
    return false;
  }
  s.result.tokens.push_back(id);
  if (s.options.logprobs) {
    s.result.logprobs.push_back(token_logprobs(logits, id, s.options.top_logprobs));
  }
  bool stopped = false;
  const std::string ready =
      s.stream ? s.stop_strings.push(s.stream->push(id), stopped) : std::string();
  const State::HandOut handed = s.hand_out(ready);
  if (handed == State::HandOut::kFilterStop)
    return false;  // the chain set kFiltered and the reason
  if (handed == State::HandOut::kCallbackStop) {
    s.result.stop_reason = StopReason::kCallback;
    return false;
  }
  if (stopped) {
    s.result.stop_reason = StopReason::kStopString;
    return false;
  }
  return true;
}

void GenerationOutput::finish() {
  State& s = *state_;
  const StopReason reason = s.result.stop_reason;
  if (s.stream && reason != StopReason::kStopString && reason != StopReason::kCallback &&
      reason != StopReason::kFiltered) {
    bool stopped = false;
    std::string rest = s.stop_strings.push(s.stream->flush(), stopped);
    if (!stopped) rest += s.stop_strings.finish();
    s.hand_out(std::move(rest));  // a filter stop here marks the result itself
  }
  if (s.output_filters) {
    if (s.result.stop_reason != StopReason::kFiltered) s.output_filters->finish();
    s.result.text = s.output_filters->text();
  } else {
    s.result.text = s.stop_strings.text();
  }
}

}  // namespace llama3::runtime
