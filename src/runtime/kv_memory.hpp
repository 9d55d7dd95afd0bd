// What a forward pass needs of the memory that holds past keys and values: where a row's key and
// value go, and attention of a row's queries over its sequence's keys up to its own position. A
// Session's contiguous KvCache and the engine's paged pool both provide it, so one forward pass
// serves both.
#pragma once

#include <cstddef>
#include <span>

#include "llama3/tokenizer.hpp"

namespace llama3::runtime {

// One row of a forward pass: `token` at `position` of sequence `sequence` (an index the memory
// understands; a Session has only sequence 0). `wants_logits`: the row goes through the output
// layer.
struct ForwardRow {
  TokenId token = 0;
  int position = 0;
  int sequence = 0;
  bool wants_logits = false;
};

class KvMemory {
 public:
  virtual ~KvMemory() = default;

  // Stores the row's key and value [kv_dim] (heads in order) of `layer` at its position.
  virtual void store(int layer, const ForwardRow& row, const float* key, const float* value) = 0;

  // out[r] = softmax(scale * queries[r] . keys) . values over KV head `kv_head` of the row's
  // sequence, positions 0..row.position (causal). queries, out: [n_queries, head_dim].
  virtual void attend(int layer, const ForwardRow& row, int kv_head, const float* queries,
                      int n_queries, float scale, float* out) const = 0;

  // attend() for each of `rows` in turn: queries and out [rows.size(), n_queries, head_dim]. A
  // memory whose rows share keys (one sequence) may read each key once for all of them; the
  // results are the same bits either way.
  virtual void attend_rows(int layer, std::span<const ForwardRow> rows, int kv_head,
                           const float* queries, int n_queries, std::size_t head_dim, float scale,
                           float* out) const {
    const std::size_t row_values = static_cast<std::size_t>(n_queries) * head_dim;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      attend(layer, rows[r], kv_head, queries + r * row_values, n_queries, scale,
             out + r * row_values);
    }
  }
};

}  // namespace llama3::runtime
