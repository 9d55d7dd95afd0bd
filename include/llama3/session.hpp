// Session: one conversation with a Model — its KV cache, position and latest logits. A session is
// used by one thread at a time; many sessions may share one Model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llama3/lora.hpp"
#include "llama3/model.hpp"
#include "llama3/tokenizer.hpp"

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

class Sampler;

// Internal types stay hidden in the library (they are named here only as opaque pointers).
#pragma GCC visibility pop
namespace detail {
class SessionImpl;
}
#pragma GCC visibility push(default)

// How the KV cache stores keys and values: f16, f32, q8_0 (blocks of 32 int8 values with one f16
// scale each, llama.cpp's Q8_0; about half the bytes of f16) or bf16 (the bytes of f16 with 8
// mantissa bits instead of 11; on CPUs with AVX512-BF16 attention then multiplies in bf16, so
// prompts at depth run about 1.7x faster than with f16). See docs/kv-cache.md. Appended only: the
// values are saved in session state.
enum class KvCacheType { kF16, kF32, kQ8_0, kBf16 };

struct SessionOptions {
  int n_ctx = 0;      // context window in tokens; 0: the model's, capped at 4096 to bound memory
  int n_threads = 0;  // 0: one per hardware thread
  KvCacheType kv_cache_type = KvCacheType::kF16;
  // LoRA adapters the session runs with (lora.hpp), each loaded for this model; see
  // Session::set_adapters.
  std::vector<ActiveLora> adapters{};
};

enum class StopReason {
  kEndOfGeneration,  // the model produced an end-of-generation token (<|eot_id|>, EOS, ...)
  kMaxTokens,
  kStopString,
  kCallback,     // the piece callback returned false
  kContextFull,  // the context window filled up
  kBlocked,      // an input filter refused the prompt: nothing was decoded
  kFiltered,     // an output filter stopped generation or rejected the finished text
};

const char* stop_reason_name(StopReason reason);

// ---------------------------------------------------------------------------------------------------
// Filters: hooks that let a caller (or the ready-made filters of safety.hpp) vet what goes into and
// comes out of generate(). They are plain values and std::functions so that any callable — a
// lambda, a Llama Guard runner, a code scanner — plugs in without a class hierarchy.
// ---------------------------------------------------------------------------------------------------

// What an input filter decides about a prompt.
struct InputVerdict {
  bool block = false;
  std::string reason;  // why it blocked (copied into GenerateResult::filter_reason)

  static InputVerdict allow() { return {}; }
  static InputVerdict deny(std::string why) { return {true, std::move(why)}; }
};

// Runs once, before prefill, on the prompt's text: the tokenizer's decode of the prompt ids with
// special tokens rendered, so a chat prompt shows its <|start_header_id|>role<|end_header_id|>
// structure. A block means generate() decodes nothing, samples nothing and returns kBlocked. Not
// called for an empty prompt (continuing what is already in the context).
using InputFilter = std::function<InputVerdict(std::string_view prompt_text)>;

// What an output filter is shown.
struct OutputEvent {
  std::string_view piece;  // the new text about to be handed out (after stop-string hold-back and
                           // after earlier filters' redactions); empty when is_final
  std::string_view text;   // everything handed out so far, followed by `piece`
  bool is_final = false;   // the once-at-the-end call, after the last piece
};

// What an output filter decides about a piece.
struct OutputVerdict {
  enum class Action {
    kContinue,  // hand the piece out as it is
    kStop,      // withhold the piece and end generation (kFiltered); at the end: reject the text
    kRedact,    // hand out `replacement` instead of the piece; at the end: replace the whole text
  };
  Action action = Action::kContinue;
  std::string replacement;  // kRedact
  std::string reason;       // kStop: why (copied into GenerateResult::filter_reason)
  std::string note;         // any action: when non-empty, appended to GenerateResult::notes

  static OutputVerdict pass() { return {}; }
  static OutputVerdict stop(std::string why) { return {Action::kStop, {}, std::move(why), {}}; }
  static OutputVerdict redact(std::string text) {
    return {Action::kRedact, std::move(text), {}, {}};
  }
  static OutputVerdict annotate(std::string note) {
    return {Action::kContinue, {}, {}, std::move(note)};
  }
};

// Sees every piece of text before the caller's on_piece does, then once more at the end with the
// whole text (is_final). Filters run in order; a redaction changes what the next filter sees, a
// stop ends the chain. A mid-stream stop leaves the session usable: the context holds every token
// decoded so far (not the withheld piece's last token), and a later decode()/generate() continues
// from there. At the end (is_final) the text has already been streamed, so kStop marks the result
// kFiltered with its reason (the caller should retract or discard the text) and kRedact replaces
// GenerateResult::text. The final call is made whenever generation ends, except after kBlocked or
// a mid-stream kStop. A filter may keep state between calls (a mutable lambda); it is called from
// the generating thread only.
using OutputFilter = std::function<OutputVerdict(const OutputEvent& event)>;

// One generated token's log-probability under the model: the natural log of the softmax of the raw
// logits row it was drawn from, before logit bias, penalties, a grammar's mask and temperature (the
// model's own distribution, as OpenAI's `logprobs` reports it).
struct TokenLogprob {
  TokenId token = 0;
  float logprob = 0.0f;
};

struct GeneratedTokenLogprobs {
  TokenId token = 0;                // the token generated
  float logprob = 0.0f;             // its logprob
  std::vector<TokenLogprob> top{};  // the top_logprobs most likely tokens, highest first (ties:
                                    // lowest id); the generated one need not be among them
};

// Speculative decoding (docs/speculative.md): a cheap drafter proposes up to draft_max tokens, the
// model checks them all in one batched pass and keeps the prefix its own sampling agrees with, so
// several tokens may cost one pass over the weights. Greedy output is token-identical to plain
// decoding; with sampling the output keeps the model's distribution (the rejection sampling of
// Leviathan et al. 2023 and Chen et al. 2023), though the tokens drawn for a seed differ from plain
// decoding's. Off unless draft_model or lookup_ngram is set (not both: kInvalidArgument).
struct SpeculativeOptions {
  // A smaller model with the same vocabulary and special tokens (e.g. Llama 3.2 1B for 3.1 8B); it
  // gets its own session for the length of each generate() call. A mismatch is kInvalidArgument.
  const Model* draft_model = nullptr;
  int draft_threads = 0;  // the draft session's threads; 0: one per hardware thread
  // Prompt lookup: > 0 matches the last lookup_ngram tokens of the context (then fewer, down to 1)
  // against earlier context, and proposes the tokens that followed the latest match. No model.
  int lookup_ngram = 0;
  int draft_max = 8;  // tokens proposed per step, 1..kMaxDraft
  static constexpr int kMaxDraft = 32;
  static constexpr int kMaxLookupNgram = 16;

  bool enabled() const { return draft_model != nullptr || lookup_ngram != 0; }
};

// What speculative decoding did in one generate() call (all zero without it).
struct SpeculativeStats {
  int drafted = 0;        // tokens the drafter proposed
  int accepted = 0;       // of those, kept
  int target_passes = 0;  // the model's forward passes while generating (prefill not counted)
  double acceptance_rate() const {
    return drafted > 0 ? static_cast<double>(accepted) / drafted : 0;
  }
};

struct GenerateOptions {
  int max_tokens = 256;
  // Record each generated token's logprob in GenerateResult::logprobs, with the `top_logprobs`
  // most likely alternatives (0..kMaxTopLogprobs; more is kInvalidArgument).
  bool logprobs = false;
  int top_logprobs = 0;
  static constexpr int kMaxTopLogprobs = 20;
  // Generation stops when the text produced contains one of these; the text is cut before it.
  std::vector<std::string> stop_strings;
  // Receives each piece of text as soon as it is complete UTF-8; return false to stop.
  std::function<bool(std::string_view piece)> on_piece;
  // When the context fills during generation: false (the default) ends it with kContextFull; true
  // keeps the first n_keep tokens (and a BOS at position 0 in any case), drops the older half of
  // the rest, and goes on (Session::shift_context). The model then no longer sees the dropped text.
  bool context_shift = false;
  int n_keep = 0;
  // See InputFilter / OutputFilter above. Empty vectors cost nothing.
  std::vector<InputFilter> input_filters;
  std::vector<OutputFilter> output_filters;
  // Stop strings, max_tokens, end-of-generation, grammar, logprobs, callbacks and filters behave
  // as without it.
  SpeculativeOptions speculative;
};

struct GenerateResult {
  std::vector<TokenId> tokens;  // generated tokens (the end-of-generation token is not included)
  // Their text, cut before a stop string. With output filters: exactly the text handed out
  // (redactions applied, a withheld piece left out), or the final redaction.
  std::string text;
  StopReason stop_reason = StopReason::kMaxTokens;
  int n_prompt_tokens = 0;         // prompt tokens given (0 when an input filter blocked)
  int n_cached_tokens = 0;         // of those, reused from the context instead of decoded
  double prompt_seconds = 0.0;     // time spent in prefill
  double generate_seconds = 0.0;   // time spent producing tokens
  std::string filter_reason;       // kBlocked / kFiltered: the filter's reason
  std::vector<std::string> notes;  // output filters' annotations, in the order they were made
  // GenerateOptions::logprobs: one entry per element of `tokens`, in order.
  std::vector<GeneratedTokenLogprobs> logprobs;
  SpeculativeStats speculative;  // GenerateOptions::speculative at work
};

class Session {
 public:
  explicit Session(const Model& model, const SessionOptions& options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // Runs `tokens` through the model after those already in the context and returns the logits of
  // the last one [n_vocab]. A batch of many tokens is a prefill; one token is a decode step. Throws
  // kContextFull (leaving the session unchanged) when they don't fit, kInvalidArgument for a token
  // id outside the vocabulary.
  std::span<const float> decode(std::span<const TokenId> tokens);

  // Like decode, but returns the logits of every position of the batch: [n_tokens, n_vocab].
  std::span<const float> decode_all_logits(std::span<const TokenId> tokens);

  // Logits after the last decoded token [n_vocab] (empty before the first decode).
  std::span<const float> logits() const;

  // Runs the input filters, feeds `prompt`, then samples until an end-of-generation token,
  // max_tokens, a stop string, the callback, an output filter's stop, or a full context.
  //
  // A prompt that begins with the model's BOS token is the whole context, not a continuation (a BOS
  // belongs only at position 0): the session keeps the longest common prefix of its tokens() and
  // the prompt, drops the rest (truncate), and feeds only the prompt's new tail. A chat front end
  // can therefore pass the whole re-encoded dialog every turn and pay only for the new turn. Any
  // other prompt is appended after the context, as before. GenerateResult::n_cached_tokens says
  // how many prompt tokens were reused.
  GenerateResult generate(std::span<const TokenId> prompt, Sampler& sampler,
                          const GenerateOptions& options = {});

  // The session's state (context tokens' keys/values, position, latest logits) as bytes, with a
  // versioned header and a checksum. load_state accepts only state saved from a session of the same
  // model and KV cache type with a context at least as large; otherwise it throws (kInvalidArgument
  // for a mismatch, kBadFormat for damaged bytes) and leaves the session unchanged.
  std::vector<std::byte> save_state() const;
  void load_state(std::span<const std::byte> state);
  // Writes a temporary file beside `path`, flushes it and renames it into place, so a failure
  // leaves any old file intact. A symbolic link is written through (the file it names is replaced);
  // a FIFO, device or folder at `path` is refused (kInvalidArgument).
  void save_state_file(const std::filesystem::path& path) const;
  void load_state_file(const std::filesystem::path& path);

  // Called before each batch of at most 64 tokens that decode()/decode_all_logits() run, and so
  // before every token generate() feeds back. Returning true stops the work: the call throws
  // Error(kCancelled) and the context is left as it was before that decode (n_past and logits
  // unchanged). An empty function (the default) never aborts. Bindings use it to interrupt long
  // prompts from another thread (the callback must then be thread-safe itself).
  void set_abort_callback(std::function<bool()> should_abort);

  // Replaces the adapters (and their scales) used from the next decode on; an empty list or all
  // scales 0 is the base model, bit for bit. The context already decoded keeps the keys and
  // values computed with the earlier adapters: reset() or truncate() first to recompute it.
  // Throws kInvalidArgument (nothing changed) for an adapter loaded for another model shape or a
  // scale that is not finite.
  void set_adapters(const std::vector<ActiveLora>& adapters);

  int n_past() const;        // tokens in the context
  int context_size() const;  // n_ctx
  void reset();              // forget the context

  // Keeps the first n_tokens positions of the context and drops the rest (their keys and values
  // are overwritten by the next decode). 0 <= n_tokens <= n_past(), else kInvalidArgument and
  // nothing changes. Truncating to fewer than n_past() tokens clears logits() (decode at least one
  // token before sampling again), unless the new last position was in the last decode's batch of
  // decode_all_logits(): then logits() is that position's row.
  void truncate(int n_tokens);

  // Drops positions [n_keep, n_keep + n_discard) and moves the later ones down, re-rotating their
  // cached keys to their new positions, so generation can go on in a full window. It is not a
  // fresh decode of the kept tokens: the moved positions' keys and values above the first layer
  // were computed while the dropped tokens were in view, and they keep that. What the shift itself
  // adds is only rounding (tested on a one-layer model, where a fresh decode is the exact
  // reference). Throws kInvalidArgument (nothing changed) unless
  // 0 <= n_keep, 0 < n_discard and n_keep + n_discard <= n_past().
  void shift_context(int n_keep, int n_discard);

  // The token ids in the context, in order ([n_past]). Empty when the context came from a state
  // saved by a version that did not record its tokens; generate() then treats a BOS-led prompt as
  // new (reset, then feed it whole).
  std::span<const TokenId> tokens() const;
  const Model& model() const;

 private:
  std::unique_ptr<detail::SessionImpl> impl_;
};

}  // namespace llama3

#pragma GCC visibility pop
