// Session: one conversation with a Model — its KV cache, position and latest logits. A session is used
// by one thread at a time; many sessions may share one Model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llama3/model.hpp"
#include "llama3/tokenizer.hpp"

namespace llama3 {

class Sampler;

namespace detail {
class SessionImpl;
}

enum class KvCacheType { kF16, kF32 };

struct SessionOptions {
  int n_ctx = 0;      // context window in tokens; 0: the model's, capped at 4096 to bound memory
  int n_threads = 0;  // 0: one per hardware thread
  KvCacheType kv_cache_type = KvCacheType::kF16;
};

enum class StopReason {
  kEndOfGeneration,  // the model produced an end-of-generation token (<|eot_id|>, EOS, ...)
  kMaxTokens,
  kStopString,
  kCallback,     // the piece callback returned false
  kContextFull,  // the context window filled up
};

const char* stop_reason_name(StopReason reason);

struct GenerateOptions {
  int max_tokens = 256;
  // Generation stops when the text produced contains one of these; the text is cut before it.
  std::vector<std::string> stop_strings;
  // Receives each piece of text as soon as it is complete UTF-8; return false to stop.
  std::function<bool(std::string_view piece)> on_piece;
};

struct GenerateResult {
  std::vector<TokenId> tokens;  // generated tokens (the end-of-generation token is not included)
  std::string text;             // their text, cut before a stop string
  StopReason stop_reason = StopReason::kMaxTokens;
  int n_prompt_tokens = 0;
  double prompt_seconds = 0.0;    // time spent in prefill
  double generate_seconds = 0.0;  // time spent producing tokens
};

class Session {
 public:
  explicit Session(const Model& model, const SessionOptions& options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // Runs `tokens` through the model after those already in the context and returns the logits of the
  // last one [n_vocab]. A batch of many tokens is a prefill; one token is a decode step. Throws
  // kContextFull (leaving the session unchanged) when they don't fit, kInvalidArgument for a token id
  // outside the vocabulary.
  std::span<const float> decode(std::span<const TokenId> tokens);

  // Like decode, but returns the logits of every position of the batch: [n_tokens, n_vocab].
  std::span<const float> decode_all_logits(std::span<const TokenId> tokens);

  // Logits after the last decoded token [n_vocab] (empty before the first decode).
  std::span<const float> logits() const;

  // Feeds `prompt`, then samples until an end-of-generation token, max_tokens, a stop string, the
  // callback, or a full context.
  GenerateResult generate(std::span<const TokenId> prompt, Sampler& sampler,
                          const GenerateOptions& options = {});

  // The session's state (context tokens' keys/values, position, latest logits) as bytes, with a
  // versioned header and a checksum. load_state accepts only state saved from a session of the same
  // model and KV cache type with a context at least as large; otherwise it throws (kInvalidArgument
  // for a mismatch, kBadFormat for damaged bytes) and leaves the session unchanged.
  std::vector<std::byte> save_state() const;
  void load_state(std::span<const std::byte> state);
  void save_state_file(const std::filesystem::path& path) const;
  void load_state_file(const std::filesystem::path& path);

  // Called before each batch of at most 64 tokens that decode()/decode_all_logits() run, and so
  // before every token generate() feeds back. Returning true stops the work: the call throws
  // Error(kCancelled) and the context is left as it was before that decode (n_past and logits
  // unchanged). An empty function (the default) never aborts. Bindings use it to interrupt long
  // prompts from another thread (the callback must then be thread-safe itself).
  void set_abort_callback(std::function<bool()> should_abort);

  int n_past() const;        // tokens in the context
  int context_size() const;  // n_ctx
  void reset();              // forget the context
  const Model& model() const;

 private:
  std::unique_ptr<detail::SessionImpl> impl_;
};

}  // namespace llama3
