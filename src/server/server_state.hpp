// Everything the route handlers share: the options, the loaded model and engine (set once the
// background load finishes; `ready` says when), the slot gate, the guard and the metrics.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "llama3/engine.hpp"
#include "llama3/grammar.hpp"
#include "llama3/model.hpp"
#include "llama3/server.hpp"
#include "server/guard_screen.hpp"
#include "server/metrics.hpp"
#include "server/openai_request.hpp"
#include "server/slot_gate.hpp"

namespace llama3::server {

struct ServerState {
  explicit ServerState(ServerOptions server_options)
      : options(std::move(server_options)), gate(options.n_parallel, options.max_queue) {}

  const ServerOptions options;
  SlotGate gate;
  Metrics metrics;

  // Written by the loader thread before `ready` is set, read-only afterwards.
  std::optional<Model> model;
  // options.draft_model_path's model; declared before the engine, whose requests use it, so it
  // outlives them.
  std::optional<Model> draft_model;
  std::once_flag grammar_once;  // ModelContext::grammar_vocabulary builds it on first use
  std::optional<GrammarVocabulary> grammar_vocabulary;
  std::unique_ptr<Engine> engine;
  std::vector<ActiveLora> adapters;  // options.adapters, loaded for `model`
  std::unique_ptr<GuardScreen> guard;
  ModelContext context;
  std::atomic<bool> ready{false};

  // Set by stop(): generation requests are refused (503) while in-flight ones finish.
  std::atomic<bool> draining{false};
  // Engine requests in flight, so that stop() can cancel what outlives its deadline.
  std::mutex in_flight_mutex;
  std::set<Engine::RequestId> in_flight;
};

// The speculative decoding every generation request runs with: prompt lookup or the draft model
// (both off by default).
inline SpeculativeOptions speculative_options(const ServerState& state) {
  SpeculativeOptions options;
  options.lookup_ngram = state.options.lookup_ngram;
  options.draft_model = state.draft_model ? &*state.draft_model : nullptr;
  options.draft_max = state.options.draft_max;
  return options;
}

}  // namespace llama3::server
