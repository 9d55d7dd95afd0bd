// Draft models in the engine. Every sequence that drafts with the same draft model shares one
// DraftBatch: the draft model's own pool of KV blocks and its forward pass. In an engine step the
// drafting sequences get their drafts from at most draft_max + 1 batched passes of the draft
// model (the first brings each sequence's draft context up to date, each later one drafts the
// next token of every sequence still drafting), so the draft weights are read once per pass for
// all of them rather than once per sequence.
//
// A sequence's draft tokens are those the drafter of Session::generate proposes (the same
// sampling from a copy of the sequence's sampler, in the same order of random draws), and the
// draft model's logits have the same bits as in a session of their own: rows are computed
// independently of their batch, and paged and contiguous attention agree.
#pragma once

#include <span>
#include <vector>

#include "engine/kv_pool.hpp"
#include "engine/paged_kv.hpp"
#include "kernels/thread_pool.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "runtime/forward.hpp"
#include "runtime/speculative_drafter.hpp"

namespace llama3::engine {

// A sequence's part of a DraftBatch: its blocks in the batch's pool, and the tokens whose keys
// and values they hold (position i holds known[i]).
struct DraftContext {
  std::vector<BlockId> blocks;
  std::vector<TokenId> known;
};

// One sequence's draft for this step.
struct DraftJob {
  DraftContext* context = nullptr;
  std::span<const TokenId> tokens;  // the sequence's context, the last token not yet decoded
  int max_tokens = 0;               // at least 1
  // The most context positions the draft model may catch up on in this step; a sequence further
  // behind catches up on that many and drafts nothing until it has caught up.
  int max_catch_up = 0;
  const Sampler* sampler = nullptr;  // the sequence's, having accepted `tokens`
  runtime::UniformSource uniform;    // the sequence's random stream
  runtime::Draft* draft = nullptr;   // filled (cleared first)
};

class DraftBatch {
 public:
  // A pool of n_blocks blocks of kBlockPositions positions in f16 (a draft session's cache type).
  // Throws kInvalidArgument when the draft model is not whole (a pipeline rank's share).
  DraftBatch(const Model& draft, int n_blocks, kernels::ThreadPool& pool);

  // Fills every job's draft. A job whose context cannot get the blocks it needs gets fewer tokens
  // than max_tokens, or none; so does a job more than max_catch_up positions behind.
  void propose(std::span<DraftJob> jobs);
  // Gives back a sequence's blocks (it ended, or was preempted and will start over).
  void release(DraftContext& context);

  int n_users = 0;  // sequences attached (the engine drops a batch nobody uses)

 private:
  // Blocks for positions [0, n_positions); false (and nothing taken) when the pool is short.
  bool reserve(DraftContext& context, int n_positions);
  // Runs rows_ over the jobs' tables; logits_ gets one row per row wanting them.
  void run(std::span<DraftJob> jobs);

  Model model_;  // holds the weights while a sequence drafts with them
  KvPool kv_pool_;
  PagedKv paged_kv_;
  runtime::ForwardPass forward_;
  std::vector<runtime::ForwardRow> rows_;
  std::vector<const std::vector<BlockId>*> tables_;
  std::vector<float> logits_;
};

}  // namespace llama3::engine
