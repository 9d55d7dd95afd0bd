// One engine step: end cancelled sequences, admit queued ones (first come, first served), give
// every running sequence its rows under the token budget, make sure their blocks exist (taking
// free blocks, evicting cached ones, or preempting the newest sequence), run one forward pass, and
// sample each sequence whose last row came out.
#include <algorithm>
#include <exception>
#include <string>

#include "engine/engine_impl.hpp"
#include "llama3/error.hpp"
#include "runtime/sampler_access.hpp"

namespace llama3::detail {
namespace {

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

int blocks_for(std::size_t positions) {
  return static_cast<int>((positions + engine::kBlockPositions - 1) / engine::kBlockPositions);
}

}  // namespace

bool EngineImpl::step() {
  std::lock_guard<std::mutex> step_lock(step_mutex_);
  take_cancellations();
  admit();
  plan_rows();
  if (rows_.empty()) {
    publish();
  } else {
    try {
      run_forward();
      after_forward();
    } catch (const std::exception& e) {
      // Nothing of the step can be trusted: every sequence in it ends with the error.
      const std::vector<Sequence*> failed = running_;
      running_.clear();
      for (Sequence* s : failed) end(*s, RequestState::kFailed, e.what());
    }
    publish();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ++n_steps_;
  return has_work_locked();
}

void EngineImpl::take_cancellations() {
  std::vector<Sequence*> cancelled;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto pick = [&](Sequence* s) {
      if (!s->cancel_requested) return false;
      cancelled.push_back(s);
      return true;
    };
    std::erase_if(waiting_, pick);
    std::erase_if(running_, pick);
  }
  for (Sequence* s : cancelled) end(*s, RequestState::kCancelled);
}

void EngineImpl::admit() {
  for (;;) {
    Sequence* s = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (waiting_.empty()) return;
      s = waiting_.front();
    }
    // Every running sequence gets a row in every step.
    if (static_cast<int>(running_.size()) >= options_.max_step_tokens) return;
    const int n_blocks = blocks_for(std::max(s->tokens.size(), s->request.prompt.size()));
    if (n_blocks > kv_pool_.n_blocks()) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        waiting_.pop_front();
      }
      end(*s, RequestState::kRefused,
          "the sequence needs " + std::to_string(n_blocks) + " KV blocks of " +
              std::to_string(engine::kBlockPositions) + " positions; the pool has " +
              std::to_string(kv_pool_.n_blocks()) + " in all (raise kv_tokens)");
      continue;
    }
    if (!start(*s)) {
      if (options_.when_pool_full == WhenPoolFull::kWait) return;  // first come, first served
      {
        std::lock_guard<std::mutex> lock(mutex_);
        waiting_.pop_front();
      }
      end(*s, RequestState::kRefused,
          "the KV pool is full: the prompt needs " + std::to_string(n_blocks) + " blocks, " +
              std::to_string(kv_pool_.n_free() + prefix_cache_.n_evictable()) +
              " are free (when_pool_full = refuse)");
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      waiting_.pop_front();
      s->state = RequestState::kRunning;
    }
    running_.push_back(s);
  }
}

bool EngineImpl::start(Sequence& s) {
  if (!s.started) {
    s.tokens = s.request.prompt;
    s.n_prompt = static_cast<int>(s.tokens.size());
    s.result.generation.n_prompt_tokens = s.n_prompt;
    s.result.generation.stop_reason = StopReason::kMaxTokens;
  }
  std::vector<engine::BlockId> reused;
  if (options_.prefix_cache && !s.lora) reused = prefix_cache_.lookup(s.tokens);
  // The last token is always computed: its logits are what the first sample needs. When the
  // cache covers it too, its block is copied before the write (ensure_blocks).
  const int n_reused = std::min(static_cast<int>(reused.size()) * engine::kBlockPositions,
                                static_cast<int>(s.tokens.size()) - 1);
  const bool copy_on_write = n_reused % engine::kBlockPositions != 0;
  const int needed =
      blocks_for(s.tokens.size()) - static_cast<int>(reused.size()) + (copy_on_write ? 1 : 0);
  if (needed > kv_pool_.n_free() + prefix_cache_.n_evictable()) {
    for (engine::BlockId b : reused) kv_pool_.release(b);
    return false;
  }
  s.blocks = std::move(reused);
  s.n_computed = n_reused;
  if (!s.started) {
    s.started = true;
    s.result.n_reused_prompt_tokens = n_reused;
    const Tokenizer* tokenizer = model_.has_tokenizer() ? &model_.tokenizer() : nullptr;
    const bool at_text_start =
        tokenizer && std::all_of(s.tokens.begin(), s.tokens.end(), [&](TokenId id) {
          return tokenizer->kind(id) == TokenKind::kControl;
        });
    s.output = std::make_unique<runtime::GenerationOutput>(model_, s.request.generate,
                                                           s.result.generation, at_text_start);
  }
  if (!ensure_blocks(s, static_cast<int>(s.tokens.size()) - 1)) {
    release_blocks(s);
    return false;
  }
  return true;
}

void EngineImpl::plan_rows() {
  int budget = options_.max_step_tokens;
  for (Sequence* s : running_) {
    const int pending = static_cast<int>(s->tokens.size()) - s->n_computed;
    s->rows_this_step = pending == 1 ? 1 : 0;  // generating: one row each, before any prompt
    s->draft.clear();
    budget -= s->rows_this_step;
  }
  propose_drafts(budget);         // then drafts, from what the budget has left
  for (Sequence* s : running_) {  // prompts in arrival order, chunked to the budget
    const int pending = static_cast<int>(s->tokens.size()) - s->n_computed;
    if (pending <= 1 || budget <= 0) continue;
    s->rows_this_step = std::min(pending, budget);
    budget -= s->rows_this_step;
  }
  for (std::size_t i = 0; i < running_.size(); ++i) {
    Sequence* s = running_[i];
    const int needed_rows = s->rows_this_step - static_cast<int>(s->draft.tokens.size());
    if (needed_rows == 0) continue;
    while (!ensure_blocks(*s, s->n_computed + needed_rows - 1)) {
      Sequence* newest = running_.back();
      preempt(*newest);
      if (newest == s) break;
    }
  }
  // A draft is a guess: it gets only blocks that are free, never a prefix-cache block (which
  // take_block would evict) or anyone's by preemption.
  for (Sequence* s : running_) {
    const auto blocks_past = [&] {
      const auto needed = static_cast<std::size_t>(
          blocks_for(static_cast<std::size_t>(s->n_computed + s->rows_this_step)));
      return needed > s->blocks.size() ? needed - s->blocks.size() : std::size_t{0};
    };
    while (!s->draft.tokens.empty() &&
           blocks_past() > static_cast<std::size_t>(kv_pool_.n_free())) {
      drop_last_draft(*s);
    }
    if (!s->draft.tokens.empty() && !ensure_blocks(*s, s->n_computed + s->rows_this_step - 1)) {
      // Cannot happen with the blocks counted free above; without blocks the step has no drafts.
      s->rows_this_step -= static_cast<int>(s->draft.tokens.size());
      s->draft.clear();
    }
  }
  rows_.clear();
  tables_.clear();
  for (std::size_t k = 0; k < running_.size(); ++k) {
    const Sequence& s = *running_[k];
    tables_.push_back(&s.blocks);
    const int n_tokens = static_cast<int>(s.tokens.size());
    for (int j = 0; j < s.rows_this_step; ++j) {
      const int position = s.n_computed + j;
      const TokenId token = position < n_tokens
                                ? s.tokens[static_cast<std::size_t>(position)]
                                : s.draft.tokens[static_cast<std::size_t>(position - n_tokens)];
      rows_.push_back({token, position, static_cast<int>(k), position + 1 >= n_tokens});
    }
  }
  paged_kv_.set_tables(tables_);
}

bool EngineImpl::ensure_blocks(Sequence& s, int last_position) {
  const auto needed = static_cast<std::size_t>(last_position / engine::kBlockPositions + 1);
  while (s.blocks.size() < needed) {
    const engine::BlockId block = take_block();
    if (block == engine::kNoBlock) return false;
    s.blocks.push_back(block);
  }
  // Only the block of the first position to write can be shared (a cached prompt block the
  // sequence recomputes its last token into): copy it first.
  const auto first = static_cast<std::size_t>(s.n_computed / engine::kBlockPositions);
  if (first < s.blocks.size() && kv_pool_.ref_count(s.blocks[first]) > 1) {
    const engine::BlockId copy = take_block();
    if (copy == engine::kNoBlock) return false;
    kv_pool_.copy_positions(s.blocks[first], copy, s.n_computed % engine::kBlockPositions);
    if (runner_)
      runner_->copy_positions(s.blocks[first], copy, s.n_computed % engine::kBlockPositions);
    kv_pool_.release(s.blocks[first]);
    s.blocks[first] = copy;
  }
  return true;
}

engine::BlockId EngineImpl::take_block() {
  engine::BlockId block = kv_pool_.allocate();
  while (block == engine::kNoBlock && prefix_cache_.evict_one()) block = kv_pool_.allocate();
  return block;
}

void EngineImpl::preempt(Sequence& s) {
  // Its blocks go back; it is recomputed from its tokens when readmitted (bit-identical: rows
  // are independent), at the front of the queue so it keeps its turn.
  release_blocks(s);
  if (s.draft_batch) s.draft_batch->release(s.draft_context);
  s.n_computed = 0;
  s.rows_this_step = 0;
  s.draft.clear();
  running_.erase(std::find(running_.begin(), running_.end(), &s));
  std::lock_guard<std::mutex> lock(mutex_);
  s.state = RequestState::kQueued;
  waiting_.push_front(&s);
}

void EngineImpl::run_forward() {
  std::size_t n_wanting = 0;
  for (const auto& row : rows_) n_wanting += row.wants_logits ? 1 : 0;
  logits_.resize(n_wanting * static_cast<std::size_t>(model_.config().n_vocab));
  if (runner_) {
    runner_->run(forward_, rows_, tables_, logits_.data());
  } else {
    forward_.run_rows(rows_, logits_.data());
  }
}

void EngineImpl::after_forward() {
  const auto n_vocab = static_cast<std::size_t>(model_.config().n_vocab);
  std::size_t logits_row = 0;
  std::vector<Sequence*> ended;
  for (Sequence* s : running_) {
    if (s->rows_this_step == 0) continue;
    const auto n_drafts = s->draft.tokens.size();
    s->n_computed += s->rows_this_step - static_cast<int>(n_drafts);
    s->rows_this_step = 0;
    if (s->n_computed < static_cast<int>(s->tokens.size())) continue;  // prompt not done yet
    const std::span<const float> rows(logits_.data() + logits_row * n_vocab,
                                      (1 + n_drafts) * n_vocab);
    logits_row += 1 + n_drafts;
    if (options_.prefix_cache && !s->lora && !s->prompt_cached && s->n_computed >= s->n_prompt) {
      prefix_cache_.insert(std::span<const TokenId>(s->tokens).first(s->n_prompt), s->blocks);
      s->prompt_cached = true;
    }
    if (s->result.generation.tokens.empty() && s->result.generation.prompt_seconds == 0.0) {
      s->result.generation.prompt_seconds = seconds_between(s->submitted, Clock::now());
    }
    if (s->request.generate.speculative.enabled() && !s->result.generation.tokens.empty()) {
      ++s->result.generation.speculative.target_passes;
    }
    s->result.generation.speculative.drafted += static_cast<int>(n_drafts);
    n_drafted_ += n_drafts;
    try {
      if (n_drafts > 0) {
        sample_drafted(*s, rows);
      } else {
        sample(*s, rows);
      }
    } catch (const std::exception& e) {
      end(*s, RequestState::kFailed, e.what());
    }
    if (s->ending) {
      ended.push_back(s);
    } else {
      trim_blocks(*s);
    }
  }
  std::erase_if(running_, [&](Sequence* s) {
    return std::find(ended.begin(), ended.end(), s) != ended.end();
  });
}

void EngineImpl::sample(Sequence& s, std::span<const float> logits) {
  if (static_cast<int>(s.result.generation.tokens.size()) >= s.request.generate.max_tokens) {
    return end(s, RequestState::kFinished);  // kMaxTokens (max_tokens 0: the prompt only)
  }
  if (s.request.on_logits) s.request.on_logits(logits);
  const TokenId id = s.sampler.sample(logits);
  s.sampler.accept(id);
  keep(s, id, logits);
}

void EngineImpl::sample_drafted(Sequence& s, std::span<const float> rows) {
  const auto n_vocab = static_cast<std::size_t>(model_.config().n_vocab);
  const runtime::UniformSource uniform = [&s] {
    return detail::SamplerAccess::next_uniform(s.sampler);
  };
  // The drafts are never past max_tokens (draft_limit): keep() ends the sequence at the last.
  const std::vector<TokenId>& drafts = s.draft.tokens;
  for (std::size_t j = 0; j <= drafts.size(); ++j) {
    const std::span<const float> logits = rows.subspan(j * n_vocab, n_vocab);
    if (s.request.on_logits) s.request.on_logits(logits);
    const auto p = s.sampler.candidates(logits);
    const bool drafted = j < drafts.size();
    TokenId id = 0;
    bool accepted = false;
    if (drafted) {
      // q is empty for a deterministic draft (one-hot at its token).
      const auto q = s.draft.q.empty() ? std::span<const TokenProbability>()
                                       : std::span<const TokenProbability>(s.draft.q[j]);
      const auto verdict = verifier_.verify(p, drafts[j], q, uniform);
      id = verdict.token;
      accepted = verdict.accepted;
    } else {  // every draft kept: the row after the last one gives one more token
      id = p.size() == 1 ? p.front().id : runtime::draw_token(p, uniform());
    }
    s.sampler.accept(id);
    if (accepted) {  // counted as Session's loop does, also when this token ends the generation
      ++s.result.generation.speculative.accepted;
      ++n_draft_accepted_;
    }
    if (!keep(s, id, logits)) return;
    if (!accepted) return;  // the token chosen instead is the next step's pending row
    // The draft's row computed this position's keys and values: it is in the context now.
    ++s.n_computed;
  }
}

bool EngineImpl::keep(Sequence& s, TokenId id, std::span<const float> logits) {
  GenerateResult& generation = s.result.generation;
  if (s.request.on_token) s.request.on_token(id, logits);
  if (generation.tokens.empty()) {
    s.result.first_token_seconds = seconds_between(s.submitted, Clock::now());
  }
  if (!s.output->push(id, logits)) {
    end(s, RequestState::kFinished);
    return false;
  }
  // As Session::generate: a kept token that no longer fits ends it, else it is fed back.
  if (static_cast<int>(s.tokens.size()) >= n_ctx_) {
    generation.stop_reason = StopReason::kContextFull;
    end(s, RequestState::kFinished);
    return false;
  }
  if (static_cast<int>(generation.tokens.size()) >= s.request.generate.max_tokens) {
    end(s, RequestState::kFinished);
    return false;
  }
  s.tokens.push_back(id);
  return true;
}

void EngineImpl::trim_blocks(Sequence& s) {
  const auto needed = static_cast<std::size_t>(blocks_for(s.tokens.size()));
  while (s.blocks.size() > needed) {
    kv_pool_.release(s.blocks.back());
    s.blocks.pop_back();
  }
}

void EngineImpl::end(Sequence& s, RequestState state, std::string error) {
  if (s.output) {
    // A cancel ends like a callback stop: nothing held back is handed out any more.
    if (state == RequestState::kCancelled) s.result.generation.stop_reason = StopReason::kCallback;
    if (state == RequestState::kFailed) s.result.generation.stop_reason = StopReason::kCallback;
    s.output->finish();
    s.output.reset();
  }
  release_blocks(s);
  detach_drafter(s);
  const auto now = Clock::now();
  s.result.total_seconds = seconds_between(s.submitted, now);
  if (s.result.generation.prompt_seconds > 0.0) {
    s.result.generation.generate_seconds =
        s.result.total_seconds - s.result.generation.prompt_seconds;
  }
  s.ending = state;
  s.result.error = std::move(error);
  ended_.push_back(&s);
}

void EngineImpl::publish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Sequence* s : ended_) s->state = s->result.state = *s->ending;
    n_running_ = static_cast<int>(running_.size());
    n_free_blocks_ = kv_pool_.n_free();
    n_cached_blocks_ = prefix_cache_.size();
    published_drafted_ = n_drafted_;
    published_accepted_ = n_draft_accepted_;
  }
  ended_.clear();
  changed_.notify_all();
}

void EngineImpl::release_blocks(Sequence& s) {
  for (engine::BlockId b : s.blocks) kv_pool_.release(b);
  s.blocks.clear();
}

}  // namespace llama3::detail
