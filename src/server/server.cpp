// llama3::Server: binds, loads the model in the background, serves the routes on cpp-httplib's
// thread pool, and shuts down in order (stop accepting work, let in-flight requests finish until
// the deadline, cancel the rest, join every thread).
#include "llama3/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <thread>

#include "llama3/error.hpp"
#include "runtime/speculative_drafter.hpp"
#include "server/http_routes.hpp"

namespace llama3::detail {

constexpr int kMaxQueue = 4096;  // ServerOptions::max_queue's bound (docs: server.hpp, the CLI)

class ServerImpl {
 public:
  explicit ServerImpl(ServerOptions options) : state_(validate(std::move(options))) {}
  ~ServerImpl() { stop(); }

  void start();
  void stop();
  void wait();
  int port() const { return port_; }
  bool ready() const { return state_.ready; }
  std::string load_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return load_error_;
  }

 private:
  static ServerOptions validate(ServerOptions options);
  void load();

  server::ServerState state_;
  httplib::Server http_;
  std::thread listener_, loader_;
  std::atomic<int> port_{0};
  std::atomic<bool> cancel_load_{false};
  mutable std::mutex mutex_;
  std::condition_variable finished_;
  bool started_ = false, stopped_ = false, load_failed_ = false;
  std::string load_error_;
};

ServerOptions ServerImpl::validate(ServerOptions options) {
  const auto check = [](bool ok, const std::string& what) {
    if (!ok) throw Error(ErrorCode::kInvalidArgument, "server: " + what);
  };
  check(!options.model_path.empty() || options.model.has_value(),
        "a model path (or a loaded model) is required");
  check(options.port >= 0 && options.port <= 65535, "port must be in [0, 65535]");
  check(options.n_parallel >= 1 && options.n_parallel <= 1024, "n_parallel must be in [1, 1024]");
  // Every slot and every waiting request holds an HTTP pool thread, all started up front (see
  // start()): the bounds keep that pool in the low thousands.
  check(options.max_queue >= 0 && options.max_queue <= kMaxQueue,
        "max_queue must be in [0, " + std::to_string(kMaxQueue) + "]");
  check(options.n_ctx >= 0 && options.kv_tokens >= 0 && options.n_threads >= 0,
        "n_ctx, kv_tokens and n_threads must be >= 0");
  check(options.max_body_bytes > 0, "max_body_bytes must be > 0");
  check(options.shutdown_seconds >= 0, "shutdown_seconds must be >= 0");
  check(options.lookup_ngram >= 0 && options.lookup_ngram <= SpeculativeOptions::kMaxLookupNgram,
        "lookup_ngram must be in [0, " + std::to_string(SpeculativeOptions::kMaxLookupNgram) + "]");
  check(options.lookup_ngram == 0 || options.draft_model_path.empty(),
        "speculative decoding takes a draft model or prompt lookup, not both");
  check(options.draft_max >= 1 && options.draft_max <= SpeculativeOptions::kMaxDraft,
        "draft_max must be in [1, " + std::to_string(SpeculativeOptions::kMaxDraft) + "]");
  for (const std::string& key : options.api_keys) check(!key.empty(), "an API key is empty");
  return options;
}

void ServerImpl::start() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (started_) throw Error(ErrorCode::kInvalidArgument, "server: start() called twice");
    started_ = true;
  }
  const ServerOptions& options = state_.options;
  // cpp-httplib serves each connection on one pool thread for its whole life, and a streaming
  // response holds its thread until the answer ends. Every slot and every waiting request can
  // hold one, and a few more keep /health, /metrics and the 429 answers flowing when all are
  // taken.
  const auto n_threads = static_cast<std::size_t>(options.n_parallel + options.max_queue + 4);
  http_.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
  http_.set_payload_max_length(options.max_body_bytes);
  http_.set_keep_alive_timeout(3);
  http_.set_tcp_nodelay(true);  // small SSE chunks go out at once
  // SO_REUSEADDR only: a restarted server binds past its old connections in TIME_WAIT, but a
  // second live server on the same port fails to bind. (cpp-httplib's default, SO_REUSEPORT,
  // lets both listen and splits the connections between them.)
  http_.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server::register_routes(http_, state_);
  const int port = options.port == 0
                       ? http_.bind_to_any_port(options.host)
                       : (http_.bind_to_port(options.host, options.port) ? options.port : -1);
  if (port <= 0) {
    throw Error(ErrorCode::kIo,
                "server: cannot listen on " + options.host + ":" + std::to_string(options.port));
  }
  port_ = port;
  listener_ = std::thread([this] { http_.listen_after_bind(); });
  loader_ = std::thread([this] { load(); });
}

void ServerImpl::load() {
  const ServerOptions& options = state_.options;
  try {
    LoadOptions load_options;
    load_options.use_mmap = options.use_mmap;
    load_options.progress = [this](float) { return !cancel_load_.load(); };
    if (options.model) {
      state_.model.emplace(*options.model);
    } else {
      state_.model.emplace(Model::load(options.model_path, load_options));
    }
    const Model& model = *state_.model;
    if (!model.has_tokenizer()) {
      throw Error(ErrorCode::kInvalidArgument,
                  options.model_path + ": the model has no tokenizer, which the server needs");
    }
    const int trained = model.config().context_length > 0 ? model.config().context_length : 4096;
    const int n_ctx = options.n_ctx > 0 ? options.n_ctx : std::min(trained, 4096);
    EngineOptions engine_options;
    engine_options.n_threads = options.n_threads;
    engine_options.kv_cache_type = options.kv_cache_type;
    engine_options.n_ctx = n_ctx;
    engine_options.kv_tokens =
        options.kv_tokens > 0 ? options.kv_tokens : options.n_parallel * n_ctx;
    engine_options.max_step_tokens = options.max_step_tokens;
    engine_options.prefix_cache = options.prefix_cache;
    state_.engine = options.make_engine ? options.make_engine(model, engine_options)
                                        : std::make_unique<Engine>(model, engine_options);
    if (!state_.engine) {
      throw Error(ErrorCode::kInvalidArgument, "server: make_engine returned no engine");
    }
    state_.adapters = load_adapters(model, options.adapters);
    if (!options.draft_model_path.empty()) {
      try {
        state_.draft_model.emplace(Model::load(options.draft_model_path, load_options));
        runtime::check_speculative_options(model, server::speculative_options(state_));
      } catch (const Error& e) {
        throw Error(e.code(), "draft model " + options.draft_model_path + ": " + e.what());
      }
    }
    if (!options.guard_model_path.empty()) {
      state_.guard = std::make_unique<server::GuardScreen>(
          options.guard_model_path, options.guard_version, options.n_threads);
    }
    server::ModelContext& context = state_.context;
    context.model = &model;
    context.grammar_vocabulary = [this]() -> const GrammarVocabulary& {
      std::call_once(state_.grammar_once,
                     [this] { state_.grammar_vocabulary.emplace(state_.model->tokenizer()); });
      return *state_.grammar_vocabulary;
    };
    context.n_ctx = n_ctx;
    context.n_adapters = static_cast<int>(state_.adapters.size());
    const std::filesystem::path path(options.model_path);
    context.model_id = !options.model_alias.empty() ? options.model_alias
                       : path.has_stem()            ? path.stem().string()
                       : !path.parent_path().filename().empty()
                           ? path.parent_path().filename().string()
                           : std::string("model");
    // The model's template only tells the style; the dialog is rendered by ChatFormat.
    context.chat.chat_template = model.metadata_string("tokenizer.chat_template");
    context.chat.style = detect_chat_style(model.tokenizer(), context.chat.chat_template);
    state_.ready = true;
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    load_error_ = e.what();
    load_failed_ = true;
    finished_.notify_all();
  }
}

void ServerImpl::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!started_ || stopped_) return;
  }
  state_.draining = true;
  cancel_load_ = true;
  state_.gate.close();  // requests still waiting for a slot get 503
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(state_.options.shutdown_seconds);
  const auto in_flight = [this] {
    std::lock_guard<std::mutex> lock(state_.in_flight_mutex);
    return std::vector<Engine::RequestId>(state_.in_flight.begin(), state_.in_flight.end());
  };
  while (!in_flight().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (state_.engine) {
    for (const Engine::RequestId id : in_flight()) state_.engine->cancel(id);
  }
  http_.stop();  // closes the listening socket; returns once the pool's threads have ended
  if (listener_.joinable()) listener_.join();
  if (loader_.joinable()) loader_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  stopped_ = true;
  finished_.notify_all();
}

void ServerImpl::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  finished_.wait(lock, [this] { return stopped_ || load_failed_; });
}

}  // namespace llama3::detail

namespace llama3 {

Server::Server(ServerOptions options)
    : impl_(std::make_unique<detail::ServerImpl>(std::move(options))) {}
Server::~Server() = default;
void Server::start() {
  impl_->start();
}
void Server::stop() {
  impl_->stop();
}
void Server::wait() {
  impl_->wait();
}
int Server::port() const {
  return impl_->port();
}
bool Server::ready() const {
  return impl_->ready();
}
std::string Server::load_error() const {
  return impl_->load_error();
}

}  // namespace llama3
