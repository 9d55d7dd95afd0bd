// The forward pass's view of the KV pool during one engine step: row.sequence indexes the block
// tables the step was built with, and a row's keys go to block position / kBlockPositions of its
// sequence's table. The engine has made every written block exclusively the sequence's own before
// the step (copy-on-write), so a store never changes a shared prefix block.
#pragma once

#include <span>
#include <vector>

#include "engine/kv_pool.hpp"
#include "runtime/kv_memory.hpp"

namespace llama3::engine {

class PagedKv final : public runtime::KvMemory {
 public:
  // The pool holds layers [first_layer, first_layer + its layers) of the model (a pipeline rank's,
  // src/distributed); the forward pass names layers model-wide.
  PagedKv(KvPool& pool, int head_dim, int first_layer = 0)
      : pool_(pool), head_dim_(head_dim), first_layer_(first_layer) {}

  // The block tables of this step's sequences, indexed by ForwardRow::sequence. The tables must
  // outlive the forward pass that reads them.
  void set_tables(std::vector<const std::vector<BlockId>*> tables) { tables_ = std::move(tables); }

  void store(int layer, const runtime::ForwardRow& row, const float* key,
             const float* value) override;
  void attend(int layer, const runtime::ForwardRow& row, int kv_head, const float* queries,
              int n_queries, float scale, float* out) const override;
  // Rows of one sequence in a row (a prompt's tokens) read each key block once for all of them.
  void attend_rows(int layer, std::span<const runtime::ForwardRow> rows, int kv_head,
                   const float* queries, int n_queries, std::size_t head_dim, float scale,
                   float* out) const override;

 private:
  KvPool& pool_;
  int head_dim_;
  int first_layer_;
  std::vector<const std::vector<BlockId>*> tables_;
};

}  // namespace llama3::engine
