// Batched drafting with a draft model; see draft_batch.hpp.
#include "engine/draft_batch.hpp"

#include <algorithm>
#include <utility>

#include "model/model_impl.hpp"

namespace llama3::engine {
namespace {

const Model& whole(const Model& model) {
  detail::ModelAccess::require_whole(model, "a draft model");
  return model;
}

int blocks_for(int positions) {
  return (positions + kBlockPositions - 1) / kBlockPositions;
}

}  // namespace

DraftBatch::DraftBatch(const Model& draft, int n_blocks, kernels::ThreadPool& pool)
    : model_(whole(draft)),
      kv_pool_(draft.config().n_layers, draft.config().n_kv_heads, draft.config().head_dim,
               KvCacheType::kF16, n_blocks),
      paged_kv_(kv_pool_, draft.config().head_dim),
      forward_(detail::ModelAccess::impl(model_), paged_kv_, pool) {}

bool DraftBatch::reserve(DraftContext& context, int n_positions) {
  const auto needed = static_cast<std::size_t>(blocks_for(n_positions));
  if (needed <= context.blocks.size()) return true;
  if (needed - context.blocks.size() > static_cast<std::size_t>(kv_pool_.n_free())) return false;
  while (context.blocks.size() < needed) context.blocks.push_back(kv_pool_.allocate());
  return true;
}

void DraftBatch::release(DraftContext& context) {
  for (BlockId block : context.blocks) kv_pool_.release(block);
  context.blocks.clear();
  context.known.clear();
}

void DraftBatch::run(std::span<DraftJob> jobs) {
  tables_.clear();
  for (const DraftJob& job : jobs) tables_.push_back(&job.context->blocks);
  paged_kv_.set_tables(tables_);
  const auto wanting = static_cast<std::size_t>(
      std::count_if(rows_.begin(), rows_.end(), [](const auto& row) { return row.wants_logits; }));
  logits_.resize(wanting * static_cast<std::size_t>(model_.config().n_vocab));
  forward_.run_rows(rows_, logits_.data());
}

void DraftBatch::propose(std::span<DraftJob> jobs) {
  const auto n_vocab = static_cast<std::size_t>(model_.config().n_vocab);
  const Tokenizer* tokenizer = model_.has_tokenizer() ? &model_.tokenizer() : nullptr;
  // A sequence still drafting: its job, a copy of its sampler (history and grammar state advance
  // through its own drafts) and the most tokens it may draft.
  struct Drafting {
    std::size_t job;
    Sampler sampler;
    bool greedy;
    int limit;
  };
  std::vector<Drafting> active;
  rows_.clear();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    DraftJob& job = jobs[i];
    job.draft->clear();
    const int n_tokens = static_cast<int>(job.tokens.size());
    if (n_tokens == 0 || job.max_tokens <= 0) continue;
    DraftContext& context = *job.context;
    // Keys and values of the common prefix are kept; the last token is always run again, since
    // its logits are where the first draft comes from.
    const auto mismatch = std::mismatch(context.known.begin(), context.known.end(),
                                        job.tokens.begin(), job.tokens.end());
    const int common =
        std::min(static_cast<int>(mismatch.first - context.known.begin()), n_tokens - 1);
    // A long new context (a prompt) is read in chunks over several steps, as the model reads its
    // own prompt, so that no step stalls every sequence for the whole of it; the sequence drafts
    // once caught up.
    const bool catching_up = n_tokens - common > job.max_catch_up;
    const int end = catching_up ? common + std::max(job.max_catch_up, 1) : n_tokens;
    // Drafting, the step also writes every draft but the last.
    const int reachable =
        (static_cast<int>(context.blocks.size()) + kv_pool_.n_free()) * kBlockPositions;
    const int limit = catching_up ? 0 : std::min(job.max_tokens, reachable - n_tokens + 1);
    // (A limit below 1 means the context alone does not fit: the reserve fails.)
    if (!reserve(context, end + std::max(limit - 1, 0))) continue;
    context.known.resize(static_cast<std::size_t>(common));
    for (int p = common; p < end; ++p) {
      const TokenId token = job.tokens[static_cast<std::size_t>(p)];
      rows_.push_back({token, p, static_cast<int>(i), !catching_up && p + 1 == n_tokens});
      context.known.push_back(token);
    }
    if (!catching_up) {
      active.push_back({i, *job.sampler, job.sampler->params().temperature <= 0.0f, limit});
    }
  }
  if (rows_.empty()) return;
  run(jobs);  // logits: one row per active sequence, in order
  for (int round = 0; !active.empty(); ++round) {
    std::size_t n_going_on = 0;  // the sequences drafting on move to the front, in order
    rows_.clear();
    for (std::size_t a = 0; a < active.size(); ++a) {
      Drafting& d = active[a];
      DraftJob& job = jobs[d.job];
      const std::span<const float> logits(logits_.data() + a * n_vocab, n_vocab);
      auto q = d.sampler.candidates(logits);
      const TokenId x = d.greedy ? q.front().id : runtime::draw_token(q, job.uniform());
      job.draft->tokens.push_back(x);
      if (!d.greedy) job.draft->q.push_back(std::move(q));
      // Nothing follows an end of generation, and the last draft need not be run (the next
      // step's first pass runs it if it is kept).
      if ((tokenizer && tokenizer->is_end_of_generation(x)) ||
          static_cast<int>(job.draft->tokens.size()) == d.limit) {
        continue;
      }
      d.sampler.accept(x);
      const int position = static_cast<int>(job.tokens.size()) + round;
      rows_.push_back({x, position, static_cast<int>(d.job), true});
      job.context->known.push_back(x);
      if (n_going_on != a) active[n_going_on] = std::move(d);
      ++n_going_on;
    }
    active.erase(active.begin() + static_cast<std::ptrdiff_t>(n_going_on), active.end());
    if (!active.empty()) run(jobs);
  }
}

}  // namespace llama3::engine
