// The Llama forward pass over a batch of tokens (docs/facts.md §1): embedding, n_layers pre-norm
// blocks of grouped-query attention with RoPE and a SwiGLU feed-forward, final RMSNorm, output
// layer.
//
// A batch is a list of rows, each a token at a position of some sequence (kv_memory.hpp): one
// Session's prompt, or the engine's step over many sequences. Every matmul runs once over all rows
// (the kernels compute each row independently of the others), attention runs per row over its own
// sequence's keys, so a row's result never depends on which other rows share its batch.
#pragma once

#include <span>
#include <vector>

#include "kernels/thread_pool.hpp"
#include "model/model_impl.hpp"
#include "runtime/kv_memory.hpp"
#include "runtime/lora_apply.hpp"

namespace llama3::runtime {

class ForwardPass {
 public:
  // At most this many tokens go through the layers together; longer prompts run in chunks, which
  // bounds the scratch memory without changing any result.
  static constexpr int kMaxBatch = 64;

  ForwardPass(const detail::ModelImpl& model, KvMemory& memory, kernels::ThreadPool& pool);

  // Runs `tokens` at positions first_position.. and appends their keys/values to the cache. Writes
  // the logits of every position ([n_tokens, n_vocab]) when all_logits, else of the last
  // ([n_vocab]). The caller has checked that the ids are in the vocabulary and that the positions
  // fit the cache.
  void run(std::span<const TokenId> tokens, int first_position, bool all_logits,
           std::vector<float>& logits);

  // Runs `rows` in order (a row may attend to keys stored by earlier rows of the same call) and
  // writes the logits of the rows that want them, in row order: [n_wanting, n_vocab]. The caller
  // has checked ids and positions, and that each row's sequence holds keys for every position
  // before the row's (from earlier calls or earlier rows).
  void run_rows(std::span<const ForwardRow> rows, float* logits);

  // The stages of one chunk of at most kMaxBatch rows, which run_rows runs in a row and a pipeline
  // (src/distributed) spreads over processes, each running its share of the layers. They pass the
  // residual stream in hidden() [n_rows, dim].
  //   embed: the rows' token embeddings into hidden().
  //   run_layers: layers [first_layer, last_layer) over hidden(), storing keys/values in the
  //   memory. output_logits: the final norm and output layer of the rows that want logits, into
  //     logits_out [n_wanting, n_vocab]; returns n_wanting.
  void embed(std::span<const ForwardRow> rows);
  void run_layers(std::span<const ForwardRow> rows, int first_layer, int last_layer);
  int output_logits(std::span<const ForwardRow> rows, float* logits_out);
  float* hidden() { return hidden_.data(); }  // [kMaxBatch, dim]
  // The LoRA adapters each row's sequence runs with (lora_apply.hpp), asked per chunk; an empty
  // function (the default) or a null stack: the base model, bit for bit.
  void set_lora(LoraOfSequence lora_of) { lora_of_ = std::move(lora_of); }

 private:
  // At most kMaxBatch rows; returns the number of logits rows written.
  int run_chunk(std::span<const ForwardRow> rows, float* logits_out);
  void attention(int layer, std::span<const ForwardRow> rows);
  // projected_ += the adapters' update of `target` (o or down), whose input is x [rows, in].
  void add_lora(int layer, model::LoraTarget target, const float* x, std::size_t in);

  const detail::ModelImpl& model_;
  KvMemory& memory_;
  kernels::ThreadPool& pool_;
  std::vector<ForwardRow> rows_;  // run()'s rows, reused
  LoraOfSequence lora_of_;
  LoraApplier lora_;

  // Scratch, sized once for kMaxBatch tokens.
  std::vector<float> hidden_;     // [batch, dim] residual stream
  std::vector<float> normed_;     // [batch, dim]
  std::vector<float> queries_;    // [batch, n_heads * head_dim]
  std::vector<float> keys_;       // [batch, kv_dim]
  std::vector<float> values_;     // [batch, kv_dim]
  std::vector<float> attended_;   // [batch, n_heads * head_dim]
  std::vector<float> projected_;  // [batch, dim]
  std::vector<float> gate_;       // [batch, ffn_dim]
  std::vector<float> up_;         // [batch, ffn_dim]
  std::vector<float> rope_cos_;   // [batch, head_dim / 2]
  std::vector<float> rope_sin_;   // [batch, head_dim / 2]
};

}  // namespace llama3::runtime
