// The generation loop, over any context that decodes like a Session: sample, feed back, stop on
// the limits; the text side of each token (streaming, stop strings, filters) is
// runtime/generation_output, shared with the engine. A Session runs it (Session::generate), and so
// does a pipeline's first rank over the ranks that hold the layers (src/distributed).
//
// A Context has: model(), n_past(), context_size(), tokens(), logits(), decode(span),
// truncate(n), shift_context(n_keep, n_discard).
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "runtime/generation_output.hpp"
#include "runtime/speculative.hpp"
#include "runtime/token_logprobs.hpp"

namespace llama3::runtime {
namespace generation_detail {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A prompt led by BOS is a whole context (BOS belongs only at position 0). Keeps the longest
// common prefix of the session's tokens and the prompt, drops the rest, and returns how many
// prompt tokens need no decoding. Any other prompt continues the context: nothing is reused.
template <class Context>
std::size_t reuse_context_prefix(Context& session, std::span<const TokenId> prompt) {
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
template <class Context>
bool make_room(Context& session, const GenerateOptions& options) {
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

}  // namespace generation_detail

template <class Context>
GenerateResult run_generation(Context& context, std::span<const TokenId> prompt, Sampler& sampler,
                              const GenerateOptions& options) {
  using namespace generation_detail;
  if (options.max_tokens < 0) {
    throw Error(ErrorCode::kInvalidArgument, "generate: max_tokens must be >= 0");
  }
  if (options.n_keep < 0 ||
      (options.context_shift && options.n_keep >= context.context_size() - 1)) {
    throw Error(ErrorCode::kInvalidArgument,
                "generate: n_keep must be >= 0 and leave room to shift in a context of " +
                    std::to_string(context.context_size()));
  }
  runtime::check_logprob_options(options);  // before any work, like the checks above
  // Checked (and a draft model's session made) before any work, like the checks above.
  std::unique_ptr<runtime::Drafter> drafter;
  if (options.speculative.enabled()) {
    if constexpr (std::is_same_v<Context, Session>) {
      drafter = runtime::make_drafter(context, options.speculative);
    } else {
      throw Error(ErrorCode::kInvalidArgument,
                  "generate: speculative decoding does not run over a pipeline yet");
    }
  }
  const Model& model = context.model();
  GenerateResult result;
  if (!runtime::run_input_filters(model, prompt, options, result)) {
    return result;  // before prefill: the session is exactly as it was
  }
  result.n_prompt_tokens = static_cast<int>(prompt.size());
  const auto prompt_start = Clock::now();
  const std::size_t reused = reuse_context_prefix(context, prompt);
  result.n_cached_tokens = static_cast<int>(reused);
  if (reused < prompt.size()) {
    context.decode(prompt.subspan(reused));
  } else if (context.logits().empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "generate: empty prompt and nothing decoded yet (start with at least BOS)");
  }
  for (TokenId id : prompt) sampler.accept_prompt(id);
  if (drafter) drafter->prefill(context.tokens());
  result.prompt_seconds = seconds_since(prompt_start);

  // The generated text starts the text only when nothing but control tokens (BOS) came before.
  const bool at_text_start =
      model.has_tokenizer() && context.n_past() == static_cast<int>(prompt.size()) &&
      std::all_of(prompt.begin(), prompt.end(),
                  [&](TokenId id) { return model.tokenizer().kind(id) == TokenKind::kControl; });
  runtime::GenerationOutput output(model, options, result, at_text_start);

  const auto generate_start = Clock::now();
  result.stop_reason = StopReason::kMaxTokens;
  if constexpr (std::is_same_v<Context, Session>) {
    if (drafter) {
      runtime::generate_speculative(context, sampler, options, *drafter, output, result);
      output.finish();
      result.generate_seconds = seconds_since(generate_start);
      return result;
    }
  }
  while (static_cast<int>(result.tokens.size()) < options.max_tokens) {
    const TokenId id = sampler.sample(context.logits());
    sampler.accept(id);
    if (!output.push(id, context.logits())) break;
    // Every kept token goes into the context, so a later generate() continues the same text.
    if (context.n_past() >= context.context_size() && !make_room(context, options)) {
      result.stop_reason = StopReason::kContextFull;
      break;
    }
    context.decode(std::span<const TokenId>(&id, 1));
  }
  output.finish();
  result.generate_seconds = seconds_since(generate_start);
  return result;
}

}  // namespace llama3::runtime
