// Counters the server keeps, written as Prometheus text (GET /metrics) together with the engine's
// and the slot gate's current state. Counters are atomics: every HTTP thread bumps them.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "llama3/engine.hpp"

namespace llama3::server {

struct Metrics {
  std::atomic<std::uint64_t> requests_chat{0};
  std::atomic<std::uint64_t> requests_completion{0};
  std::atomic<std::uint64_t> requests_other{0};
  std::atomic<std::uint64_t> requests_failed{0};     // answered with an error status
  std::atomic<std::uint64_t> requests_cancelled{0};  // the client went away mid-generation
  std::atomic<std::uint64_t> requests_filtered{0};   // finish_reason content_filter
  std::atomic<std::uint64_t> prompt_tokens{0};
  std::atomic<std::uint64_t> generated_tokens{0};
  std::atomic<std::uint64_t> prefix_cache_hits{0};        // requests that reused cached blocks
  std::atomic<std::uint64_t> prefix_cache_hit_tokens{0};  // prompt tokens taken from the cache
};

struct GateState {
  int slots_total = 0;
  int slots_busy = 0;
  int waiting = 0;
};

// Prometheus text exposition format 0.0.4: "# HELP", "# TYPE", then "name value" lines.
std::string render_metrics(const Metrics& metrics, const GateState& gate,
                           const EngineStats* engine);

}  // namespace llama3::server
