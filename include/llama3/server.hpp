// Server: an OpenAI-compatible HTTP service over the batched Engine (docs/server.md).
//
//   llama3::ServerOptions options;
//   options.model_path = "model.gguf";
//   options.port = 0;                      // any free port; port() tells which
//   llama3::Server server(options);
//   server.start();                        // binds, then loads the model in the background
//   // ... GET /health answers 503 until the model is loaded, then 200
//   server.stop();                         // stop accepting, finish or cancel in-flight work
//
// The HTTP and JSON libraries stay inside the library part (libllama3_server): nothing of them
// appears here. Threads: start, stop, wait and the accessors may be called from any thread; stop()
// may be called more than once.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llama3/engine.hpp"
#include "llama3/lora.hpp"
#include "llama3/model.hpp"
#include "llama3/safety.hpp"
#include "llama3/session.hpp"

// Everything declared here is exported, like the rest of the public API.
#pragma GCC visibility push(default)

namespace llama3 {

// Internal types stay hidden in the library (they are named here only as opaque pointers).
#pragma GCC visibility pop
namespace detail {
class ServerImpl;
}
#pragma GCC visibility push(default)

struct ServerOptions {
  std::string model_path;   // a GGUF file or a Hugging Face folder (required)
  std::string model_alias;  // the id /v1/models lists and requests name; empty: the file's stem
  bool use_mmap = true;     // LoadOptions::use_mmap
  // Loopback by default: anything else exposes the model to the network (see docs/server.md).
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (Server::port() tells which)

  int n_parallel = 4;  // sequences generating at once (the engine's slots)
  int max_queue = 64;  // requests waiting for a slot beyond n_parallel before 429 (at most 4096)
  int n_ctx = 0;       // context window per sequence; 0: the model's, capped at 4096
  int n_threads = 0;   // 0: one per hardware thread
  int kv_tokens = 0;   // KV pool in positions; 0: n_parallel full contexts
  int max_step_tokens = 256;
  bool prefix_cache = true;
  // Speculative decoding for every request (EngineRequest's generate.speculative), by prompt
  // lookup with n-grams of up to lookup_ngram tokens (1..16; 0: off) or by a draft model with the
  // model's vocabulary (draft_model_path, loaded with the model; the requests in flight draft
  // together in batched passes of it), not both; up to draft_max (1..32) drafts a step.
  int lookup_ngram = 0;
  std::string draft_model_path;
  int draft_max = 8;
  KvCacheType kv_cache_type = KvCacheType::kF16;  // of the engine's KV pool
  // LoRA adapters every request runs with (loaded with the model).
  std::vector<LoraFile> adapters{};

  // Requests must carry "Authorization: Bearer KEY" with one of these keys when any is set.
  std::vector<std::string> api_keys;
  std::size_t max_body_bytes = 8u << 20;  // larger bodies get 413
  // Seconds a stop() lets in-flight requests finish before cancelling them.
  double shutdown_seconds = 10.0;

  // A Llama Guard model screening prompts and answers, and answering /v1/moderations.
  std::string guard_model_path;
  std::optional<GuardVersion> guard_version;  // unset: from the guard model's metadata

  // For apps that hold the model already: served instead of loading model_path (which then only
  // names it: the model id, unless model_alias is set).
  std::optional<Model> model{};
  // Builds the engine the requests run on; unset: Engine(model, options). Called once, on the
  // loading thread, with the options the server derived from the fields above. For example a
  // pipeline's engine over MPI (llama3/distributed.hpp: Pipeline::make_engine, with `model` its
  // rank 0's share), as `mpirun -np N llama3 serve` does.
  std::function<std::unique_ptr<Engine>(const Model& model, const EngineOptions& options)>
      make_engine{};
};

class Server {
 public:
  // Throws Error(kInvalidArgument) for options out of range (checked again by start()).
  explicit Server(ServerOptions options);
  // Stops the server if it is running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the address (throws Error(kIo) when it cannot), starts answering, and loads the model
  // and the guard on a background thread. Returns once the socket listens.
  void start();
  // Stops accepting connections, lets in-flight requests finish for up to shutdown_seconds, then
  // cancels the rest and returns when every thread has ended.
  void stop();
  // Blocks until stop() has finished (from another thread) or loading failed.
  void wait();

  int port() const;    // the bound port (after start())
  bool ready() const;  // the model is loaded and requests are served
  // Why loading failed, empty while loading or after success.
  std::string load_error() const;

 private:
  std::unique_ptr<detail::ServerImpl> impl_;
};

}  // namespace llama3

#pragma GCC visibility pop
