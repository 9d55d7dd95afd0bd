// The generation loop of a Session: sample, feed back, stop on the limits; the text side of each
// token (streaming, stop strings, filters) is runtime/generation_output, shared with the engine.
#include <algorithm>
#include <chrono>

#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "runtime/generation_output.hpp"
#include "runtime/session_impl.hpp"

namespace llama3 {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

GenerateResult Session::generate(std::span<const TokenId> prompt, Sampler& sampler,
                                 const GenerateOptions& options) {
  if (options.max_tokens < 0) {
    throw Error(ErrorCode::kInvalidArgument, "generate: max_tokens must be >= 0");
  }
  const Model& model = impl_->model();
  GenerateResult result;
  if (!runtime::run_input_filters(model, prompt, options, result)) {
    return result;  // before prefill: the session is exactly as it was
  }
  result.n_prompt_tokens = static_cast<int>(prompt.size());
  const auto prompt_start = Clock::now();
  if (!prompt.empty()) {
    decode(prompt);
  } else if (logits().empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "generate: empty prompt and nothing decoded yet (start with at least BOS)");
  }
  for (TokenId id : prompt) sampler.accept(id);
  result.prompt_seconds = seconds_since(prompt_start);

  // The generated text starts the text only when nothing but control tokens (BOS) came before.
  const bool at_text_start = model.has_tokenizer() && n_past() == static_cast<int>(prompt.size()) &&
                             std::all_of(prompt.begin(), prompt.end(), [&](TokenId id) {
                               return model.tokenizer().kind(id) == TokenKind::kControl;
                             });
  runtime::GenerationOutput output(model, options, result, at_text_start);

  const auto generate_start = Clock::now();
  result.stop_reason = StopReason::kMaxTokens;
  while (static_cast<int>(result.tokens.size()) < options.max_tokens) {
    const TokenId id = sampler.sample(logits());
    sampler.accept(id);
    if (!output.push(id)) break;
    // Every kept token goes into the context, so a later generate() continues the same text.
    if (n_past() >= context_size()) {
      result.stop_reason = StopReason::kContextFull;
      break;
    }
    decode(std::span<const TokenId>(&id, 1));
  }
  output.finish();
  result.generate_seconds = seconds_since(generate_start);
  return result;
}

}  // namespace llama3
