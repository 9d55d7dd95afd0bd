// The Llama forward pass over a batch of tokens (docs/facts.md §1): embedding, n_layers pre-norm
// blocks of grouped-query attention with RoPE and a SwiGLU feed-forward, final RMSNorm, output
// layer.
#pragma once

#include <span>
#include <vector>

#include "kernels/thread_pool.hpp"
#include "model/model_impl.hpp"
#include "runtime/kv_cache.hpp"

namespace llama3::runtime {

class ForwardPass {
 public:
  ForwardPass(const detail::ModelImpl& model, KvCache& cache, kernels::ThreadPool& pool);

  // Runs `tokens` at positions first_position.. and appends their keys/values to the cache. Writes
  // the logits of every position ([n_tokens, n_vocab]) when all_logits, else of the last
  // ([n_vocab]). The caller has checked that the ids are in the vocabulary and that the positions
  // fit the cache.
  void run(std::span<const TokenId> tokens, int first_position, bool all_logits,
           std::vector<float>& logits);

  // At most this many tokens go through the layers together; longer prompts run in chunks, which
  // bounds the scratch memory without changing any result.
  static constexpr int kMaxBatch = 64;

 private:
  void run_chunk(std::span<const TokenId> tokens, int first_position, bool all_logits,
                 float* logits_out);
  void attention(int layer, int n_tokens, int first_position);

  const detail::ModelImpl& model_;
  KvCache& cache_;
  kernels::ThreadPool& pool_;

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
