#include "runtime/forward.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/matmul.hpp"
#include "kernels/vector_ops.hpp"

namespace llama3::runtime {
namespace {

// Element-wise work split across the pool only in slices at least this long: a one-token
// feed-forward (8192 values for 1B) is done sooner by one thread than by a fork and join.
constexpr std::size_t kElementGrain = 16384;

}  // namespace

ForwardPass::ForwardPass(const detail::ModelImpl& model, KvMemory& memory,
                         kernels::ThreadPool& pool)
    : model_(model), memory_(memory), pool_(pool) {
  const auto& c = model_.config();
  const auto batch = static_cast<std::size_t>(kMaxBatch);
  const auto q_dim = static_cast<std::size_t>(c.n_heads * c.head_dim);
  const auto kv_dim = static_cast<std::size_t>(c.n_kv_heads * c.head_dim);
  hidden_.resize(batch * c.dim);
  normed_.resize(batch * c.dim);
  queries_.resize(batch * q_dim);
  keys_.resize(batch * kv_dim);
  values_.resize(batch * kv_dim);
  attended_.resize(batch * q_dim);
  projected_.resize(batch * c.dim);
  gate_.resize(batch * c.ffn_dim);
  up_.resize(batch * c.ffn_dim);
  rope_cos_.resize(batch * c.head_dim / 2);
  rope_sin_.resize(batch * c.head_dim / 2);
}

void ForwardPass::run(std::span<const TokenId> tokens, int first_position, bool all_logits,
                      std::vector<float>& logits) {
  const auto n_vocab = static_cast<std::size_t>(model_.config().n_vocab);
  logits.resize((all_logits ? tokens.size() : 1) * n_vocab);
  rows_.resize(tokens.size());
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    rows_[t] = {tokens[t], first_position + static_cast<int>(t), 0,
                all_logits || t + 1 == tokens.size()};
  }
  run_rows(rows_, logits.data());
}

void ForwardPass::run_rows(std::span<const ForwardRow> rows, float* logits) {
  const auto n_vocab = static_cast<std::size_t>(model_.config().n_vocab);
  for (std::size_t begin = 0; begin < rows.size(); begin += kMaxBatch) {
    const std::size_t count = std::min<std::size_t>(kMaxBatch, rows.size() - begin);
    const int written = run_chunk(rows.subspan(begin, count), logits);
    logits += static_cast<std::size_t>(written) * n_vocab;
  }
}

int ForwardPass::run_chunk(std::span<const ForwardRow> rows, float* logits_out) {
  embed(rows);
  run_layers(rows, 0, model_.config().n_layers);
  return output_logits(rows, logits_out);
}

void ForwardPass::embed(std::span<const ForwardRow> rows) {
  const auto dim = static_cast<std::size_t>(model_.config().dim);
  for (std::size_t t = 0; t < rows.size(); ++t) {
    kernels::dequantize_matrix_row(model_.token_embedding(),
                                   static_cast<std::size_t>(rows[t].token),
                                   hidden_.data() + t * dim);
  }
}

void ForwardPass::run_layers(std::span<const ForwardRow> rows, int first_layer, int last_layer) {
  const auto& c = model_.config();
  const int n = static_cast<int>(rows.size());
  const auto dim = static_cast<std::size_t>(c.dim);
  const auto q_dim = static_cast<std::size_t>(c.n_heads * c.head_dim);
  const auto kv_dim = static_cast<std::size_t>(c.n_kv_heads * c.head_dim);
  const auto ffn_dim = static_cast<std::size_t>(c.ffn_dim);
  const auto half = static_cast<std::size_t>(c.head_dim / 2);

  for (int t = 0; t < n; ++t) {
    // Angles in double: position * frequency loses precision in f32 at long contexts.
    const auto& inverse = model_.rope_inverse_frequencies();
    for (std::size_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(rows[t].position) * inverse[i];
      rope_cos_[t * half + i] = static_cast<float>(std::cos(angle));
      rope_sin_[t * half + i] = static_cast<float>(std::sin(angle));
    }
  }

  const bool lora = lora_of_ && lora_.prepare(rows, lora_of_);
  using model::LoraTarget;
  for (int layer_index = first_layer; layer_index < last_layer; ++layer_index) {
    const auto& layer = model_.layers()[static_cast<std::size_t>(layer_index)];
    // Attention block: h = x + Wo · attention(rope(Wq·norm(x)), rope(Wk·norm(x)), Wv·norm(x))
    for (int t = 0; t < n; ++t) {
      kernels::rms_norm(hidden_.data() + t * dim, layer.attn_norm.data(), normed_.data() + t * dim,
                        dim, c.norm_eps);
    }
    {
      // One rounding of norm(x) and one fork/join for the three projections.
      const kernels::WeightMatrix* const ws[] = {&layer.attn_q, &layer.attn_k, &layer.attn_v};
      float* const ys[] = {queries_.data(), keys_.data(), values_.data()};
      kernels::matmul_same_input(ws, normed_.data(), n, ys, pool_);
      const LoraTarget targets[] = {LoraTarget::kQ, LoraTarget::kK, LoraTarget::kV};
      if (lora) lora_.add(layer_index, targets, normed_.data(), dim, ys, pool_);
    }
    // HF checkpoints keep q/k rows permuted and rotate half-split (ModelConfig::rope_layout).
    const auto rope = c.rope_layout == RopeLayout::kHalfSplit ? kernels::rope_half_split
                                                              : kernels::rope_adjacent_pairs;
    for (int t = 0; t < n; ++t) {
      rope(queries_.data() + t * q_dim, c.n_heads, c.head_dim, rope_cos_.data() + t * half,
           rope_sin_.data() + t * half);
      rope(keys_.data() + t * kv_dim, c.n_kv_heads, c.head_dim, rope_cos_.data() + t * half,
           rope_sin_.data() + t * half);
      memory_.store(layer_index, rows[t], keys_.data() + t * kv_dim, values_.data() + t * kv_dim);
    }
    attention(layer_index, rows);
    kernels::matmul(layer.attn_output, attended_.data(), n, projected_.data(), pool_);
    if (lora) add_lora(layer_index, LoraTarget::kO, attended_.data(), q_dim);
    for (std::size_t i = 0; i < static_cast<std::size_t>(n) * dim; ++i) hidden_[i] += projected_[i];

    // Feed-forward block: out = h + W2 · (silu(W1·norm(h)) * W3·norm(h))
    for (int t = 0; t < n; ++t) {
      kernels::rms_norm(hidden_.data() + t * dim, layer.ffn_norm.data(), normed_.data() + t * dim,
                        dim, c.norm_eps);
    }
    {
      const kernels::WeightMatrix* const ws[] = {&layer.ffn_gate, &layer.ffn_up};
      float* const ys[] = {gate_.data(), up_.data()};
      kernels::matmul_same_input(ws, normed_.data(), n, ys, pool_);
      const LoraTarget targets[] = {LoraTarget::kGate, LoraTarget::kUp};
      if (lora) lora_.add(layer_index, targets, normed_.data(), dim, ys, pool_);
    }
    // Split across the pool: in a long prompt this is millions of exps, which one thread would
    // take while the other waits.
    pool_.parallel_for(static_cast<std::size_t>(n) * ffn_dim, kElementGrain,
                       [&](std::size_t begin, std::size_t end, int) {
                         kernels::silu_mul(gate_.data() + begin, up_.data() + begin, end - begin);
                       });
    kernels::matmul(layer.ffn_down, gate_.data(), n, projected_.data(), pool_);
    if (lora) add_lora(layer_index, LoraTarget::kDown, gate_.data(), ffn_dim);
    for (std::size_t i = 0; i < static_cast<std::size_t>(n) * dim; ++i) hidden_[i] += projected_[i];
  }
}

int ForwardPass::output_logits(std::span<const ForwardRow> rows, float* logits_out) {
  const auto& c = model_.config();
  const int n = static_cast<int>(rows.size());
  const auto dim = static_cast<std::size_t>(c.dim);
  // Only the rows whose logits are wanted go through the (large) output layer.
  int n_wanting = 0;
  for (int t = 0; t < n; ++t) {
    if (!rows[t].wants_logits) continue;
    kernels::rms_norm(hidden_.data() + t * dim, model_.output_norm().data(),
                      normed_.data() + static_cast<std::size_t>(n_wanting) * dim, dim, c.norm_eps);
    ++n_wanting;
  }
  if (n_wanting > 0) {
    kernels::matmul(model_.output(), normed_.data(), static_cast<std::size_t>(n_wanting),
                    logits_out, pool_);
  }
  return n_wanting;
}

void ForwardPass::add_lora(int layer, model::LoraTarget target, const float* x, std::size_t in) {
  float* const ys[] = {projected_.data()};
  lora_.add(layer, std::span(&target, 1), x, in, ys, pool_);
}

void ForwardPass::attention(int layer, std::span<const ForwardRow> rows) {
  const int n_tokens = static_cast<int>(rows.size());
  const auto& c = model_.config();
  const int n_rep = c.n_heads / c.n_kv_heads;  // query heads per KV head
  const auto q_dim = static_cast<std::size_t>(c.n_heads * c.head_dim);
  const auto head_dim = static_cast<std::size_t>(c.head_dim);
  // An item is a KV head and a run of up to kRun consecutive tokens: their GQA groups (the n_rep
  // query heads that read that KV head) attend together, so a memory holding one sequence reads
  // each key block once for the run (KvMemory::attend_rows). Items go KV head by KV head, runs in
  // order within a head: consecutive items of a thread read the same keys and values, which the
  // previous item has just brought into its core's cache.
  // The vector levels' kernels take 32 queries a pass (and split a larger run themselves).
  constexpr int kQueriesPerPass = 32;
  const int run = std::max(1, kQueriesPerPass / n_rep);
  const int n_runs = (n_tokens + run - 1) / run;
  const auto n_items = static_cast<std::size_t>(n_runs * c.n_kv_heads);
  // Chunks handed out on demand: later tokens see more keys, so equal contiguous halves would
  // leave a thread idle for much of a long prompt. About 16 chunks per thread.
  const std::size_t chunk =
      std::max<std::size_t>(n_items / (static_cast<std::size_t>(pool_.size()) * 16), 1);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const std::size_t group_values = static_cast<std::size_t>(n_rep) * head_dim;
  pool_.parallel_chunks(n_items, chunk, [&](std::size_t begin, std::size_t end, int) {
    // The run's groups side by side ([token][query head][head_dim]), as attend_rows takes them.
    thread_local std::vector<float> gathered, attended;
    for (std::size_t item = begin; item < end; ++item) {
      const int kv_head = static_cast<int>(item) / n_runs;
      const int first = (static_cast<int>(item) % n_runs) * run;
      const int count = std::min(run, n_tokens - first);
      // GQA by index: query heads kv_head * n_rep .. + n_rep - 1 are adjacent rows of queries_.
      const auto first_query = static_cast<std::size_t>(kv_head * n_rep) * head_dim;
      const auto span =
          rows.subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(count));
      if (count == 1) {
        const auto t = static_cast<std::size_t>(first);
        memory_.attend(layer, span[0], kv_head, queries_.data() + t * q_dim + first_query, n_rep,
                       scale, attended_.data() + t * q_dim + first_query);
        continue;
      }
      gathered.resize(static_cast<std::size_t>(count) * group_values);
      attended.resize(gathered.size());
      for (int i = 0; i < count; ++i) {
        const float* from =
            queries_.data() + static_cast<std::size_t>(first + i) * q_dim + first_query;
        std::copy(from, from + group_values, gathered.data() + i * group_values);
      }
      memory_.attend_rows(layer, span, kv_head, gathered.data(), n_rep, head_dim, scale,
                          attended.data());
      for (int i = 0; i < count; ++i) {
        const float* from = attended.data() + static_cast<std::size_t>(i) * group_values;
        std::copy(from, from + group_values,
                  attended_.data() + static_cast<std::size_t>(first + i) * q_dim + first_query);
      }
    }
  });
}

}  // namespace llama3::runtime
