// Engine's request registry and threads: submit/cancel/poll/wait from any thread, the background
// worker that runs steps while there is work.
#include <algorithm>
#include <string>

#include "engine/engine_impl.hpp"
#include "llama3/error.hpp"
#include "runtime/speculative_drafter.hpp"
#include "runtime/token_logprobs.hpp"

namespace llama3 {

const char* request_state_name(RequestState state) {
  switch (state) {
    case RequestState::kQueued:
      return "queued";
    case RequestState::kRunning:
      return "running";
    case RequestState::kFinished:
      return "finished";
    case RequestState::kCancelled:
      return "cancelled";
    case RequestState::kRefused:
      return "refused";
    case RequestState::kFailed:
      return "failed";
  }
  return "unknown";
}

namespace detail {
namespace {

bool has_ended(RequestState state) {
  return state != RequestState::kQueued && state != RequestState::kRunning;
}

int choose_context(const Model& model, int n_ctx, bool whole_model_here) {
  if (whole_model_here) ModelAccess::require_whole(model, "the engine");
  constexpr int kDefaultContextCap = 4096;
  if (n_ctx < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "engine: n_ctx must be >= 0 (0 picks the model's), got " + std::to_string(n_ctx));
  }
  return n_ctx > 0 ? n_ctx : std::min(model.config().context_length, kDefaultContextCap);
}

int choose_blocks(const EngineOptions& options, int n_ctx) {
  if (options.kv_tokens < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "engine: kv_tokens must be >= 0, got " + std::to_string(options.kv_tokens));
  }
  if (options.max_step_tokens < 1) {
    throw Error(ErrorCode::kInvalidArgument, "engine: max_step_tokens must be >= 1, got " +
                                                 std::to_string(options.max_step_tokens));
  }
  constexpr long kDefaultSequences = 4;
  const long tokens = options.kv_tokens > 0 ? options.kv_tokens : kDefaultSequences * n_ctx;
  return static_cast<int>((tokens + engine::kBlockPositions - 1) / engine::kBlockPositions);
}

}  // namespace

Sequence::Sequence(Engine::RequestId id, EngineRequest request)
    : id(id), request(std::move(request)), sampler(this->request.sampling) {
  // The sequence holds the draft model's weights itself: the caller's Model may go before the
  // request ends (a binding's request dropped while the step thread still drafts for it).
  SpeculativeOptions& speculative = this->request.generate.speculative;
  if (speculative.draft_model != nullptr) {
    draft_model.emplace(*speculative.draft_model);
    speculative.draft_model = &*draft_model;
  }
}

// The layers whose keys and values this process keeps: all of them, or a pipeline's first ones.
int layers_here(const Model& model) {
  const ModelImpl& impl = ModelAccess::impl(model);
  return impl.last_layer() - impl.first_layer();
}

EngineImpl::EngineImpl(const Model& model, const EngineOptions& options,
                       std::unique_ptr<engine::StepRunner> runner)
    : model_(model),
      options_(options),
      runner_(std::move(runner)),
      n_ctx_(choose_context(model, options.n_ctx, runner_ == nullptr)),
      pool_(options.n_threads),
      kv_pool_(layers_here(model), model.config().n_kv_heads, model.config().head_dim,
               options.kv_cache_type, choose_blocks(options, n_ctx_)),
      paged_kv_(kv_pool_, model.config().head_dim),
      prefix_cache_(kv_pool_),
      forward_(detail::ModelAccess::impl(model), paged_kv_, pool_),
      verifier_(static_cast<std::size_t>(model.config().n_vocab)) {
  forward_.set_lora(
      [this](int sequence) { return running_[static_cast<std::size_t>(sequence)]->lora.get(); });
  n_free_blocks_ = kv_pool_.n_free();
  if (runner_) {
    if (ModelAccess::impl(model).first_layer() != 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "engine: a pipeline's engine runs on the rank that holds the first layers");
    }
    runner_->open(kv_pool_, n_ctx_);
  }
  if (options_.background) worker_ = std::thread([this] { worker_loop(); });
}

EngineImpl::~EngineImpl() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (auto& [id, sequence] : requests_) sequence->cancel_requested = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
  // Ends every sequence (running ones give back their blocks) before the pool goes away.
  std::lock_guard<std::mutex> step_lock(step_mutex_);
  take_cancellations();
  publish();
}

Engine::RequestId EngineImpl::submit(EngineRequest request) {
  const int n_vocab = model_.config().n_vocab;
  if (request.prompt.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "engine: submit needs a prompt of at least one token");
  }
  for (TokenId id : request.prompt) {
    if (id < 0 || id >= n_vocab) {
      throw Error(ErrorCode::kInvalidArgument, "engine: prompt token id " + std::to_string(id) +
                                                   " is outside the vocabulary of " +
                                                   std::to_string(n_vocab));
    }
  }
  if (static_cast<long>(request.prompt.size()) > n_ctx_) {
    throw Error(ErrorCode::kContextFull,
                "engine: a prompt of " + std::to_string(request.prompt.size()) +
                    " tokens does not fit the context window of " + std::to_string(n_ctx_));
  }
  if (request.generate.max_tokens < 0) {
    throw Error(ErrorCode::kInvalidArgument, "engine: max_tokens must be >= 0");
  }
  runtime::check_logprob_options(request.generate);
  runtime::check_speculative_options(model_, request.generate.speculative);
  if (runner_ && !request.adapters.empty() && !runner_->supports_adapters()) {
    throw Error(ErrorCode::kUnsupported,
                "engine: LoRA adapters do not run over a pipeline of processes yet");
  }
  auto lora = runtime::make_lora_stack(model_.config(), request.adapters);
  auto caller_on_piece = std::move(request.generate.on_piece);
  std::unique_lock<std::mutex> lock(mutex_);
  const Engine::RequestId id = next_id_++;
  lock.unlock();
  auto sequence = std::make_unique<Sequence>(id, std::move(request));  // validates the sampling
  Sequence* s = sequence.get();
  s->lora = std::move(lora);
  // Pieces are kept for poll() and then handed to the caller's callback.
  s->request.generate.on_piece = [this, s, caller_on_piece](std::string_view piece) {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      s->pieces.append(piece);
    }
    return caller_on_piece ? caller_on_piece(piece) : true;
  };
  for (TokenId token : s->request.prompt) s->sampler.accept_prompt(token);
  // Input filters run here, on the submitting thread: a blocked prompt never takes a block.
  const bool allowed = runtime::run_input_filters(model_, s->request.prompt, s->request.generate,
                                                  s->result.generation);
  lock.lock();
  if (!allowed) s->state = s->result.state = RequestState::kFinished;
  requests_.emplace(id, std::move(sequence));
  if (allowed) waiting_.push_back(s);
  lock.unlock();
  changed_.notify_all();
  return id;
}

Sequence& EngineImpl::find_locked(Engine::RequestId id) const {
  const auto it = requests_.find(id);
  if (it == requests_.end()) {
    throw Error(ErrorCode::kInvalidArgument, "engine: no request " + std::to_string(id) +
                                                 " (never submitted, or already waited for)");
  }
  return *it->second;
}

bool EngineImpl::cancel(Engine::RequestId id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = requests_.find(id);
    if (it == requests_.end() || has_ended(it->second->state) || it->second->cancel_requested) {
      return false;
    }
    it->second->cancel_requested = true;
  }
  changed_.notify_all();
  return true;
}

RequestState EngineImpl::state(Engine::RequestId id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return find_locked(id).state;
}

RequestState EngineImpl::poll(Engine::RequestId id, std::string& pieces) {
  std::lock_guard<std::mutex> lock(mutex_);
  Sequence& s = find_locked(id);
  pieces.append(s.pieces);
  s.pieces.clear();
  return s.state;
}

EngineResult EngineImpl::wait(Engine::RequestId id) {
  std::unique_lock<std::mutex> lock(mutex_);
  Sequence* s = &find_locked(id);
  while (!has_ended(s->state)) {
    if (options_.background) {
      changed_.wait(lock);
    } else {
      lock.unlock();
      const bool more = step();
      lock.lock();
      if (!more && !has_ended(s->state)) {
        throw Error(ErrorCode::kInternal,
                    "engine: request " + std::to_string(id) + " cannot progress and has not ended");
      }
    }
    s = &find_locked(id);
  }
  EngineResult result = std::move(s->result);
  requests_.erase(id);
  return result;
}

bool EngineImpl::has_work_locked() const {
  if (!waiting_.empty() || n_running_ > 0) return true;
  return false;
}

EngineStats EngineImpl::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  EngineStats stats;
  stats.n_queued = static_cast<int>(waiting_.size());
  stats.n_running = n_running_;
  stats.n_blocks = kv_pool_.n_blocks();
  stats.n_free_blocks = n_free_blocks_;
  stats.n_cached_blocks = n_cached_blocks_;
  stats.n_steps = n_steps_;
  stats.n_drafted = published_drafted_;
  stats.n_draft_accepted = published_accepted_;
  return stats;
}

void EngineImpl::worker_loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || has_work_locked(); });
      if (stopping_) return;
    }
    step();
  }
}

}  // namespace detail

Engine::Engine(const Model& model, const EngineOptions& options)
    : impl_(std::make_unique<detail::EngineImpl>(model, options)) {}
Engine::Engine(std::unique_ptr<detail::EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Engine::RequestId Engine::submit(EngineRequest request) {
  return impl_->submit(std::move(request));
}
bool Engine::cancel(RequestId id) {
  return impl_->cancel(id);
}
RequestState Engine::state(RequestId id) const {
  return impl_->state(id);
}
RequestState Engine::poll(RequestId id, std::string& pieces) {
  return impl_->poll(id, pieces);
}
EngineResult Engine::wait(RequestId id) {
  return impl_->wait(id);
}
bool Engine::step() {
  if (impl_->background()) {
    throw Error(ErrorCode::kInvalidArgument,
                "engine: step() is for an engine made with background = false");
  }
  return impl_->step();
}
EngineStats Engine::stats() const {
  return impl_->stats();
}
const Model& Engine::model() const {
  return impl_->model();
}

}  // namespace llama3
