// Engine: many generations at once over one Model. Each step gathers the next token of every
// generating sequence and chunks of prompts being prefilled (under a per-step token budget) into
// one forward pass, so the weights are read once per step instead of once per sequence. KV memory
// is one pool of fixed-size blocks shared by all sequences; no sequence reserves its context up
// front. Finished prompts leave their full blocks in a prefix cache, and a new request that starts
// with the same tokens (a system prompt, a chat history) reuses them instead of computing them.
//
// Every sequence's logits are bit-identical to what it gets alone (and to a Session's): the kernels
// compute each row independently, and attention runs per sequence over its own keys.
//
// Threads: submit, cancel, state, poll and wait may be called from any thread at any time. With
// EngineOptions::background (the default) a worker thread runs steps while there is work; without
// it the caller drives step() from one thread. The request's callbacks (on_piece, on_logits and the
// filters) run on the thread that runs steps.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

// Internal types stay hidden in the library (they are named here only as opaque pointers).
#pragma GCC visibility pop
namespace llama3::detail {
class EngineImpl;
struct EngineAccess;
}  // namespace llama3::detail
#pragma GCC visibility push(default)

namespace llama3 {

// What a request does when the KV pool has too few free blocks for its prompt.
enum class WhenPoolFull {
  kWait,    // stays queued (first come, first served) until finished sequences free blocks
  kRefuse,  // ends at once in RequestState::kRefused
};

struct EngineOptions {
  int n_threads = 0;  // 0: one per hardware thread
  // Context window of one sequence (prompt + generated); 0: the model's, capped at 4096.
  int n_ctx = 0;
  // KV pool capacity in positions over all sequences (rounded up to whole 32-position blocks);
  // 0: 4 sequences' full context.
  int kv_tokens = 0;
  // Rows per step: one per generating sequence, the rest filled with prompt chunks (chunked
  // prefill). At least 1.
  int max_step_tokens = 256;
  KvCacheType kv_cache_type = KvCacheType::kF16;
  WhenPoolFull when_pool_full = WhenPoolFull::kWait;
  bool prefix_cache = true;  // keep finished prompts' full blocks for reuse (LRU eviction)
  bool background = true;    // a worker thread runs steps; false: call step() yourself
};

struct EngineRequest {
  std::vector<TokenId> prompt;  // at least one token
  SamplerParams sampling;
  // max_tokens, stop_strings, on_piece, input_filters and output_filters, as for
  // Session::generate (callbacks run on the step thread). generate.speculative turns on
  // speculative decoding for this request: each step the sequence also gets up to draft_max rows
  // of drafted tokens (copied from earlier in its context with lookup_ngram > 0, or proposed by
  // draft_model), checked in the same forward pass (greedy output is token-identical; sampling
  // keeps the model's distribution). Drafts use only the step's spare token budget and free KV
  // blocks, never preempting anyone. Sequences drafting with the same draft model draft together
  // in batched passes of it on the engine's threads (draft_threads is not used), with a KV pool of
  // the draft model's own outside kv_tokens; the request keeps the draft model's weights loaded
  // until it ends.
  GenerateOptions generate;
  // Optional: called on the step thread with the logits [n_vocab] each token is sampled from.
  std::function<void(std::span<const float> logits)> on_logits;
  // Optional: called on the step thread with each sampled token and the logits [n_vocab] it was
  // sampled from, before the token reaches the output (so also for an end-of-generation token).
  // A server reads log-probabilities of the chosen token here.
  std::function<void(TokenId token, std::span<const float> logits)> on_token;
  // LoRA adapters this request runs with (lora.hpp); requests with different adapters share the
  // steps (their rows are grouped per adapter set). A request with adapters neither reuses nor
  // fills the prefix cache, whose blocks hold the base model's keys and values.
  std::vector<ActiveLora> adapters{};
};

enum class RequestState {
  kQueued,     // waiting for KV blocks or its turn
  kRunning,    // prefilling or generating
  kFinished,   // ended by a StopReason (see EngineResult::generation.stop_reason)
  kCancelled,  // cancel() ended it; its blocks are free again
  kRefused,    // the pool could not take its prompt (see EngineResult::error)
  kFailed,     // an error while running (see EngineResult::error)
};

const char* request_state_name(RequestState state);

struct EngineResult {
  RequestState state = RequestState::kQueued;
  GenerateResult generation;         // tokens, text, stop reason, filter reason and notes so far
  std::string error;                 // kRefused / kFailed: why
  int n_reused_prompt_tokens = 0;    // prompt positions taken from the prefix cache
  double first_token_seconds = 0.0;  // submit to the first sampled token
  double total_seconds = 0.0;        // submit to the end
};

struct EngineStats {
  int n_queued = 0;
  int n_running = 0;
  int n_blocks = 0;         // the pool's size
  int n_free_blocks = 0;    // not held by any sequence or the prefix cache
  int n_cached_blocks = 0;  // held by the prefix cache
  std::uint64_t n_steps = 0;
  // Speculative decoding over all requests so far: tokens drafted, and of those, kept.
  std::uint64_t n_drafted = 0;
  std::uint64_t n_draft_accepted = 0;
};

class Engine {
 public:
  using RequestId = std::uint64_t;

  // Throws Error(kInvalidArgument) for options out of range.
  explicit Engine(const Model& model, const EngineOptions& options = {});
  // Cancels every request and stops the worker thread.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. Throws Error(kInvalidArgument) for an empty prompt, a token outside the
  // vocabulary, a prompt longer than the context window, or bad sampling parameters.
  RequestId submit(EngineRequest request);
  // Ends a queued or running request (kCancelled) and frees its blocks at the next step boundary.
  // Returns false when the request is unknown or already ended.
  bool cancel(RequestId id);
  // Throws Error(kInvalidArgument) for an unknown id (never submitted, or already collected by
  // wait).
  RequestState state(RequestId id) const;
  // Moves the text produced since the last poll into `pieces` (appended) and returns the state.
  RequestState poll(RequestId id, std::string& pieces);
  // Blocks until the request has ended, then returns its result and forgets the request. Without
  // background, call it only for a request that has ended (or it drives step() itself).
  EngineResult wait(RequestId id);

  // One step: admits queued requests, runs one forward pass, samples. Returns whether work remains.
  // Only without EngineOptions::background.
  bool step();

  EngineStats stats() const;
  const Model& model() const;

 private:
  friend struct detail::EngineAccess;
  explicit Engine(std::unique_ptr<detail::EngineImpl> impl);
  std::unique_ptr<detail::EngineImpl> impl_;
};

}  // namespace llama3

#pragma GCC visibility pop
