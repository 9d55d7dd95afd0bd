// llama3 serve: the OpenAI-compatible HTTP server (llama3::Server, docs/server.md) until SIGINT or
// SIGTERM, which stop it in order (in-flight requests finish or are cancelled at the deadline)
// before exiting 0.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include <functional>
#include <optional>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "llama3/error.hpp"
#include "llama3/server.hpp"
#include "pipeline_options.hpp"

namespace llama3::cli {
namespace {

struct ServeCommandOptions {
  ModelOptions model;
  ContextOptions context;
  LoraOptions lora;
  ServerOptions server;
  std::vector<std::string> api_keys;
  std::string api_key_file;
  std::optional<std::string> guard_version;
  bool no_prefix_cache = false;
  PipelineCommandOptions pipeline;
};

void declare(CLI::App& app, ServeCommandOptions& options) {
  options.model.declare(app);
  options.context.declare(app);
  options.lora.declare(app);
  options.pipeline.declare(app);
  ServerOptions& server = options.server;
  app.add_option("--host", server.host,
                 "address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes the "
                 "model to the network)");
  app.add_option("--port", server.port, "TCP port (default 8080; 0: any free port)")
      ->check(integer_in(0, 65535));
  app.add_option("--parallel", server.n_parallel,
                 "requests generating at once (the engine's slots; default 4)")
      ->check(integer_in(1, 1024));
  app.add_option("--max-queue", server.max_queue,
                 "requests waiting for a slot before new ones get 429 (default 64, at most 4096)")
      ->check(integer_in(0, 4096));
  app.add_option("--kv-tokens", server.kv_tokens,
                 "KV memory in positions over all sequences (default: --parallel full contexts)")
      ->check(integer_in(1, 1 << 24));
  app.add_option("--alias", server.model_alias,
                 "the model id clients name (default: the model file's name without extension)");
  app.add_option("--api-key", options.api_keys,
                 "require \"Authorization: Bearer KEY\" (repeatable; see also --api-key-file)");
  app.add_option("--api-key-file", options.api_key_file,
                 "file of API keys, one per line (blank lines and # comments ignored)")
      ->type_name("PATH");
  app.add_option("--max-body", server.max_body_bytes,
                 "largest request body in bytes (default 8 MiB; larger ones get 413)")
      ->check(integer_in(1, 1LL << 32));
  app.add_option("--shutdown-timeout", server.shutdown_seconds,
                 "seconds in-flight requests may finish after SIGINT/SIGTERM (default 10)")
      ->check(number_in(0.0, 3600.0));
  app.add_option("--guard", server.guard_model_path,
                 "screen prompts and answers with this Llama Guard model; serves /v1/moderations")
      ->type_name("PATH");
  app.add_option("--guard-version", options.guard_version,
                 "the Guard model's version: 2, 3 or 3-1b (default: from its metadata or name)")
      ->type_name("V")
      ->check(CLI::IsMember({"2", "3", "3-1b"}))
      ->needs("--guard");
  app.add_flag("--no-prefix-cache", options.no_prefix_cache,
               "do not keep finished prompts' KV blocks for reuse");
  auto* draft_option =
      app.add_option("--draft,--model-draft", server.draft_model_path,
                     "speculative decoding with this draft model for every request (same "
                     "vocabulary, smaller): it proposes tokens the model checks in one batch")
          ->type_name("PATH");
  app.add_option("--lookup", server.lookup_ngram,
                 "speculative decoding by prompt lookup for every request: match the last N "
                 "tokens (then fewer) earlier in the context and propose what followed")
      ->check(integer_in(1, SpeculativeOptions::kMaxLookupNgram))
      ->excludes(draft_option);
  app.add_option("--draft-max", server.draft_max,
                 "with --draft or --lookup: tokens proposed per step (default 8)")
      ->check(integer_in(1, SpeculativeOptions::kMaxDraft));
  app.footer(
      "Endpoints: POST /v1/chat/completions, /v1/completions, /v1/moderations, /tokenize,\n"
      "/detokenize; GET /v1/models, /health (503 while loading), /metrics (docs/server.md).");
}

std::vector<std::string> read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kIo, "cannot read API key file " + path);
  std::vector<std::string> keys;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') keys.push_back(line);
  }
  if (keys.empty()) throw Error(ErrorCode::kInvalidArgument, path + " holds no API key");
  return keys;
}

std::optional<GuardVersion> guard_version(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  if (*text == "2") return GuardVersion::kGuard2;
  if (*text == "3") return GuardVersion::kGuard3;
  return GuardVersion::kGuard3_1B;
}

// Runs the server until SIGINT/SIGTERM or a failed load. `pipeline_failed` (under mpirun) says when
// a rank of the pipeline stopped answering: the job then ends with a message (MPI_Abort).
int serve_until_stopped(const ServerOptions& server_options,
                        const std::function<bool()>& pipeline_failed = {},
                        const std::function<void()>& end_job = {}) {
  // SIGINT/SIGTERM are taken by sigtimedwait on one thread (blocked in all of them, which inherit
  // the mask), so shutdown runs as ordinary code rather than in a signal handler. A client that
  // vanishes mid-write must not kill the process: SIGPIPE is ignored (writes fail instead).
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  Server server(server_options);
  server.start();
  std::fprintf(stderr, "llama3 serve: listening on http://%s:%d (loading %s)\n",
               server_options.host.c_str(), server.port(), server_options.model_path.c_str());
  std::atomic<bool> done{false}, signalled{false};
  std::thread signal_waiter([&] {
    bool announced = false;
    const timespec tick{0, 200'000'000};
    while (!done) {
      if (!announced && server.ready()) {
        std::fprintf(stderr, "llama3 serve: ready\n");
        announced = true;
      }
      if (pipeline_failed && pipeline_failed()) {
        std::fprintf(stderr,
                     "llama3 serve: error: a rank of the pipeline stopped answering; ending the "
                     "job\n");
        end_job();
      }
      const int signal = sigtimedwait(&stop_signals, nullptr, &tick);
      if (signal == SIGINT || signal == SIGTERM) {
        std::fprintf(stderr, "llama3 serve: %s, stopping\n",
                     signal == SIGINT ? "SIGINT" : "SIGTERM");
        signalled = true;
        server.stop();
        return;
      }
    }
  });
  server.wait();
  done = true;
  signal_waiter.join();
  const std::string error = server.load_error();
  server.stop();
  // A signal during loading cancels the load: that is a requested stop, not a failure.
  if (!error.empty() && !signalled) {
    std::fprintf(stderr, "llama3 serve: cannot load the model: %s\n", error.c_str());
    return 1;
  }
  std::fprintf(stderr, "llama3 serve: stopped\n");
  return 0;
}

#if LLAMA3_HAS_MPI
// Under mpirun: every rank loads its share of the layers; rank 0 runs the HTTP server and the
// engine's scheduling and sampling, and each step's rows pass through the ranks.
int run_serve_pipeline(const ServeCommandOptions& options, ServerOptions server_options) {
  if (!options.lora.specs.empty()) throw UsageError("--lora does not run under mpirun yet");
  distributed::MpiEnvironment mpi;
  distributed::PipelineOptions pipeline_options;
  pipeline_options.session.n_ctx = server_options.n_ctx;
  pipeline_options.session.n_threads = server_options.n_threads;
  pipeline_options.session.kv_cache_type = server_options.kv_cache_type;
  pipeline_options.load.use_mmap = server_options.use_mmap;
  int exit_code = 0;
  const auto pipeline = join_pipeline(mpi, server_options.model_path, pipeline_options,
                                      options.pipeline, "serve", exit_code);
  if (!pipeline) return exit_code;
  server_options.model = pipeline->model();
  server_options.make_engine = [&](const Model&, const EngineOptions& engine_options) {
    return pipeline->make_engine(engine_options);
  };
  // The server (and its engine) ends before the pipeline, which then lets the other ranks go.
  return serve_until_stopped(
      server_options, [&] { return pipeline->failed(); },
      [] { distributed::MpiEnvironment::abort(1); });
}
#endif

}  // namespace

int run_serve(Args args) {
  const auto app = make_command_app("serve", "Serve the model over an OpenAI-compatible HTTP API.");
  ServeCommandOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;

  ServerOptions server_options = options.server;
  server_options.adapters = options.lora.files();
  server_options.model_path =
      options.model.path.empty() ? default_model_path() : options.model.path;
  server_options.use_mmap = !options.model.no_mmap;
  server_options.n_ctx = options.context.n_ctx;
  server_options.n_threads = clamp_threads(options.context.n_threads);
  server_options.kv_cache_type = options.context.cache_type.type();
  server_options.api_keys = options.api_keys;
  if (!options.api_key_file.empty()) {
    for (std::string& key : read_key_file(options.api_key_file)) {
      server_options.api_keys.push_back(std::move(key));
    }
  }
  server_options.guard_version = guard_version(options.guard_version);
  server_options.prefix_cache = !options.no_prefix_cache;
#if LLAMA3_HAS_MPI
  if (options.pipeline.active()) return run_serve_pipeline(options, std::move(server_options));
#else
  options.pipeline.active();  // refuses the pipeline options without MPI
#endif
  return serve_until_stopped(server_options);
}

}  // namespace llama3::cli
