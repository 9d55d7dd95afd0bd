// Speculative drafts in an engine step: after every generating sequence has its own row, each
// sequence that speculates may add up to draft_max drafted rows from the step's spare budget.
// Prompt lookup drafts one sequence at a time (it costs no model pass); sequences drafting with
// the same draft model draft together in batched passes of it (draft_batch.hpp).
#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include "engine/engine_impl.hpp"
#include "model/model_impl.hpp"
#include "runtime/sampler_access.hpp"

namespace llama3::detail {
namespace {

// Room in a draft batch's pool beyond the engine's own block count: every sequence may hold up to
// two more blocks there (its drafts' positions, and a partly filled last block).
constexpr int kDraftBlocksPerSequence = 2;

}  // namespace

int EngineImpl::draft_limit(const Sequence& s, int max_rows) const {
  const SpeculativeOptions& options = s.request.generate.speculative;
  if (!options.enabled()) return 0;
  const int generated = static_cast<int>(s.result.generation.tokens.size());
  // As Session's loop: drafts up to max_tokens (keep() ends the sequence at the last one), so a
  // seeded request draws the same random numbers as a session does.
  const int remaining = s.request.generate.max_tokens - generated;
  const int room = n_ctx_ - static_cast<int>(s.tokens.size());
  return std::max(0, std::min({options.draft_max, remaining, room, max_rows}));
}

void EngineImpl::propose_drafts(int& budget) {
  std::vector<Sequence*> failed;
  const auto fail = [&](Sequence& s, const std::exception& e) {
    end(s, RequestState::kFailed, std::string("drafting: ") + e.what());
    failed.push_back(&s);
  };
  // Draft-model sequences by batch (in order of first use), with the rows reserved for them
  // until their drafts are known.
  struct ModelDrafts {
    engine::DraftBatch* batch;
    std::vector<Sequence*> sequences;
    std::vector<engine::DraftJob> jobs;
  };
  std::vector<ModelDrafts> by_batch;  // a few draft models at most: found by a linear search
  for (Sequence* s : running_) {
    if (s->rows_this_step != 1 || budget <= 0) continue;
    const int k = draft_limit(*s, budget);
    if (k == 0) continue;
    // A sampling draft draws from the sequence's own random stream, as Session's loop does.
    runtime::UniformSource uniform = [s] { return SamplerAccess::next_uniform(s->sampler); };
    try {
      if (s->request.generate.speculative.draft_model == nullptr) {
        if (!s->drafter)
          s->drafter = runtime::make_drafter(model_, n_ctx_, s->request.generate.speculative);
        s->drafter->propose(s->tokens, k, s->sampler, uniform, s->draft);
        s->rows_this_step += static_cast<int>(s->draft.tokens.size());
        budget -= static_cast<int>(s->draft.tokens.size());
        continue;
      }
      engine::DraftBatch* batch = &attach_draft_batch(*s);
      auto it = std::find_if(by_batch.begin(), by_batch.end(),
                             [&](const ModelDrafts& drafts) { return drafts.batch == batch; });
      if (it == by_batch.end()) it = by_batch.insert(it, ModelDrafts{batch, {}, {}});
      it->sequences.push_back(s);
      it->jobs.push_back({&s->draft_context, s->tokens, k, options_.max_step_tokens, &s->sampler,
                          std::move(uniform), &s->draft});
      budget -= k;
    } catch (const std::exception& e) {
      fail(*s, e);
    }
  }
  for (ModelDrafts& drafts : by_batch) {
    try {
      drafts.batch->propose(drafts.jobs);
    } catch (const std::exception& e) {  // the batch's pass failed: every sequence in it ends
      for (Sequence* s : drafts.sequences) fail(*s, e);
      continue;
    }
    for (std::size_t i = 0; i < drafts.sequences.size(); ++i) {
      Sequence& s = *drafts.sequences[i];
      const int n_drafted = static_cast<int>(s.draft.tokens.size());
      s.rows_this_step += n_drafted;
      budget += drafts.jobs[i].max_tokens - n_drafted;  // the reserved rows not drafted
    }
  }
  std::erase_if(running_, [&](Sequence* s) {
    return std::find(failed.begin(), failed.end(), s) != failed.end();
  });
}

engine::DraftBatch& EngineImpl::attach_draft_batch(Sequence& s) {
  if (s.draft_batch) return *s.draft_batch;
  const Model& draft = *s.request.generate.speculative.draft_model;
  auto& batch = draft_batches_[&ModelAccess::impl(draft)];
  if (!batch) {
    try {
      batch = std::make_unique<engine::DraftBatch>(
          draft, kv_pool_.n_blocks() + kDraftBlocksPerSequence * options_.max_step_tokens, pool_);
    } catch (...) {
      draft_batches_.erase(&ModelAccess::impl(draft));
      throw;
    }
  }
  ++batch->n_users;
  s.draft_batch = batch.get();
  return *batch;
}

void EngineImpl::detach_drafter(Sequence& s) {
  s.drafter.reset();
  if (!s.draft_batch) return;
  s.draft_batch->release(s.draft_context);
  if (--s.draft_batch->n_users == 0) {
    std::erase_if(draft_batches_,
                  [&](const auto& entry) { return entry.second.get() == s.draft_batch; });
  }
  s.draft_batch = nullptr;
}

void EngineImpl::drop_last_draft(Sequence& s) {
  s.draft.tokens.pop_back();
  if (!s.draft.q.empty()) s.draft.q.pop_back();
  --s.rows_this_step;
}

}  // namespace llama3::detail
