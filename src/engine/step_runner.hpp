// Where an engine step's forward pass runs when not every layer lives in this process. Without a
// runner the engine runs all layers itself (ForwardPass::run_rows). A pipeline over MPI
// (src/distributed) gives the engine of rank 0 a runner: rank 0 runs its own layers with the
// engine's ForwardPass and KV pool, and the runner carries the step's rows, block tables and
// hidden states to the ranks that hold the other layers, each with a KV pool of the same blocks.
//
// The engine keeps the bookkeeping (which block belongs to whom) in one place: the runner only
// mirrors what changes a block's contents, the rows' stores and copy-on-write copies.
#pragma once

#include <span>
#include <vector>

#include "engine/kv_pool.hpp"
#include "runtime/forward.hpp"

namespace llama3::engine {

class StepRunner {
 public:
  virtual ~StepRunner() = default;

  // Called once by the engine, before any step: the pool every other process must mirror block for
  // block, and the context window (the longest block table).
  virtual void open(const KvPool& pool, int n_ctx) = 0;
  // The engine has copied positions [0, n_positions) of block `from` to block `to` in its own
  // pool (copy-on-write); the other processes repeat it before the next step's rows.
  virtual void copy_positions(BlockId from, BlockId to, int n_positions) = 0;
  // Runs `rows` (ForwardPass::run_rows' contract) through every layer: the first layers with
  // `forward` here, over the tables the engine gave its PagedKv, then the rest elsewhere. Writes
  // the logits of the rows that want them, in row order, [n_wanting, n_vocab], into `logits`.
  virtual void run(runtime::ForwardPass& forward, std::span<const runtime::ForwardRow> rows,
                   std::span<const std::vector<BlockId>* const> tables, float* logits) = 0;
  // Whether requests may carry LoRA adapters (the other processes would need them too).
  virtual bool supports_adapters() const = 0;
};

}  // namespace llama3::engine
