// The inside of an Engine: the request registry (any thread, under one mutex) and the step loop
// (one thread at a time: the worker, or the caller of step()).
//
// A sequence's context is `tokens` (prompt, then every generated token kept); positions
// [0, n_computed) have keys and values in its blocks. Each step gives a sequence the rows
// tokens[n_computed ..]: one row for a generating sequence, a chunk for a prompt, and samples from
// the logits of the row at tokens.size() - 1. Prefill, decode and recomputation after preemption
// are therefore one path.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/draft_batch.hpp"
#include "engine/kv_pool.hpp"
#include "engine/paged_kv.hpp"
#include "engine/prefix_cache.hpp"
#include "engine/step_runner.hpp"
#include "kernels/thread_pool.hpp"
#include "llama3/engine.hpp"
#include "runtime/forward.hpp"
#include "runtime/generation_output.hpp"
#include "runtime/speculative_drafter.hpp"
#include "runtime/speculative_sampling.hpp"

namespace llama3::detail {

using Clock = std::chrono::steady_clock;

struct Sequence {
  Sequence(Engine::RequestId id, EngineRequest request);

  const Engine::RequestId id;
  // Declared before `request`, whose generate.speculative.draft_model points at it.
  std::optional<Model> draft_model;
  EngineRequest request;  // request.generate.on_piece is wrapped to fill `pieces` too
  std::shared_ptr<const runtime::LoraStack> lora;  // nullptr: the base model
  Sampler sampler;
  const Clock::time_point submitted = Clock::now();

  // Step thread only.
  std::vector<TokenId> tokens;
  int n_prompt = 0;
  int n_computed = 0;
  std::vector<engine::BlockId> blocks;
  bool prompt_cached = false;  // its prompt's full blocks went into the prefix cache
  bool started = false;        // admitted at least once (its output exists)
  std::unique_ptr<runtime::GenerationOutput> output;
  int rows_this_step = 0;  // drafted rows included
  // Speculative decoding, set up at the first draft: prompt lookup's drafter, or the draft model's
  // batch (shared with the other sequences drafting with that model) and this sequence's blocks
  // in it; and this step's draft, the rows after the pending one.
  std::unique_ptr<runtime::Drafter> drafter;
  engine::DraftBatch* draft_batch = nullptr;
  engine::DraftContext draft_context;
  runtime::Draft draft;
  std::optional<RequestState> ending;  // set by end(); published at the end of the step

  // Guarded by EngineImpl::mutex_.
  RequestState state = RequestState::kQueued;
  bool cancel_requested = false;
  std::string pieces;   // handed out, not yet polled
  EngineResult result;  // complete once state has ended
};

class EngineImpl {
 public:
  // With a runner, `model` may hold only the first layers (a pipeline's rank 0, src/distributed):
  // the runner carries each step to the processes holding the rest.
  EngineImpl(const Model& model, const EngineOptions& options,
             std::unique_ptr<engine::StepRunner> runner = nullptr);
  ~EngineImpl();

  Engine::RequestId submit(EngineRequest request);
  bool cancel(Engine::RequestId id);
  RequestState state(Engine::RequestId id) const;
  RequestState poll(Engine::RequestId id, std::string& pieces);
  EngineResult wait(Engine::RequestId id);
  bool step();
  EngineStats stats() const;
  const Model& model() const { return model_; }
  bool background() const { return options_.background; }

 private:
  // --- engine_step.cpp (step thread) ---
  void take_cancellations();
  void admit();
  // Blocks for the prompt not already cached; false when the pool cannot give them now.
  bool start(Sequence& sequence);
  void plan_rows();
  bool ensure_blocks(Sequence& sequence, int up_to_position);
  engine::BlockId take_block();
  void preempt(Sequence& sequence);
  void run_forward();
  void after_forward();
  void sample(Sequence& sequence, std::span<const float> logits);
  // --- engine_drafts.cpp (step thread) ---
  // Drafts for the generating sequences that speculate, from a budget of `budget` rows (reduced
  // by the rows drafted): prompt lookup one sequence at a time, draft models in batched passes.
  // A sequence whose drafting fails ends (kFailed).
  void propose_drafts(int& budget);
  // The most tokens the sequence may draft this step (0: none).
  int draft_limit(const Sequence& sequence, int max_rows) const;
  // The batch of the sequence's draft model, made for the first sequence drafting with it.
  engine::DraftBatch& attach_draft_batch(Sequence& sequence);
  // Frees the sequence's drafting state; a batch nobody uses any more goes.
  void detach_drafter(Sequence& sequence);
  // Drops the last drafted token (its row did not get a block).
  static void drop_last_draft(Sequence& sequence);
  // Checks the drafts against their rows ([1 + drafts, n_vocab]) in order and keeps the accepted
  // prefix plus the model's own next token, as Session's speculative loop does.
  void sample_drafted(Sequence& sequence, std::span<const float> rows);
  // The steps after a token is chosen (callbacks, output, stop checks); false when it ended.
  bool keep(Sequence& sequence, TokenId token, std::span<const float> logits);
  // Gives back blocks past the sequence's context (taken for drafts that were rejected).
  void trim_blocks(Sequence& sequence);
  // Finishes the sequence's output and frees its blocks; the new state becomes visible to other
  // threads in publish(), together with the pool figures, so a waiter that sees its request
  // ended also sees the blocks it freed.
  void end(Sequence& sequence, RequestState state, std::string error = {});
  void publish();
  void release_blocks(Sequence& sequence);
  bool has_work_locked() const;

  // --- engine.cpp ---
  Sequence& find_locked(Engine::RequestId id) const;
  void worker_loop();

  Model model_;
  EngineOptions options_;
  std::unique_ptr<engine::StepRunner> runner_;  // nullptr: every layer runs here
  int n_ctx_;
  kernels::ThreadPool pool_;
  engine::KvPool kv_pool_;
  engine::PagedKv paged_kv_;
  engine::PrefixCache prefix_cache_;
  runtime::ForwardPass forward_;

  // Step thread only.
  std::vector<Sequence*> running_;  // admission order (first come first)
  std::vector<runtime::ForwardRow> rows_;
  std::vector<const std::vector<engine::BlockId>*> tables_;  // [running index], this step's
  std::vector<Sequence*> row_sequences_;                     // [running index] for this step's rows
  std::vector<float> logits_;                                // [rows wanting logits, n_vocab]
  std::vector<Sequence*> ended_;                             // ended this step, not yet published
  runtime::SpeculativeVerifier verifier_;
  // Draft models' batches, by the draft model's weights.
  std::unordered_map<const ModelImpl*, std::unique_ptr<engine::DraftBatch>> draft_batches_;
  std::uint64_t n_drafted_ = 0, n_draft_accepted_ = 0;
  std::uint64_t n_steps_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a request ended, or work arrived
  std::unordered_map<Engine::RequestId, std::unique_ptr<Sequence>> requests_;
  std::deque<Sequence*> waiting_;  // first come first; preempted sequences go back to the front
  Engine::RequestId next_id_ = 1;
  int n_running_ = 0;  // mirror of running_.size() for stats
  int n_free_blocks_ = 0, n_cached_blocks_ = 0;
  std::uint64_t published_drafted_ = 0, published_accepted_ = 0;
  bool stopping_ = false;
  std::mutex step_mutex_;  // one step at a time
  std::thread worker_;
};

// Builds the public Engine around an EngineImpl (the pipeline's engine, src/distributed).
struct EngineAccess {
  static std::unique_ptr<Engine> make(std::unique_ptr<EngineImpl> impl) {
    return std::unique_ptr<Engine>(new Engine(std::move(impl)));
  }
};

}  // namespace llama3::detail
