#include "server/metrics.hpp"

namespace llama3::server {
namespace {

void write(std::string& out, const char* name, const char* type, const char* help,
           std::uint64_t value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
         name + " " + std::to_string(value) + "\n";
}

}  // namespace

std::string render_metrics(const Metrics& m, const GateState& gate, const EngineStats* engine) {
  std::string out;
  write(out, "llama3_requests_chat_total", "counter", "POST /v1/chat/completions requests",
        m.requests_chat);
  write(out, "llama3_requests_completion_total", "counter", "POST /v1/completions requests",
        m.requests_completion);
  write(out, "llama3_requests_other_total", "counter", "requests to the other endpoints",
        m.requests_other);
  write(out, "llama3_requests_failed_total", "counter", "requests answered with an error status",
        m.requests_failed);
  write(out, "llama3_requests_cancelled_total", "counter",
        "generations cancelled because the client disconnected", m.requests_cancelled);
  write(out, "llama3_requests_filtered_total", "counter",
        "generations ended with finish_reason content_filter", m.requests_filtered);
  write(out, "llama3_prompt_tokens_total", "counter", "prompt tokens received", m.prompt_tokens);
  write(out, "llama3_generated_tokens_total", "counter", "tokens generated", m.generated_tokens);
  write(out, "llama3_prefix_cache_hits_total", "counter",
        "requests whose prompt reused prefix-cache blocks", m.prefix_cache_hits);
  write(out, "llama3_prefix_cache_hit_tokens_total", "counter",
        "prompt tokens taken from the prefix cache instead of computed", m.prefix_cache_hit_tokens);
  write(out, "llama3_slots_total", "gauge", "sequences that may generate at once (--parallel)",
        static_cast<std::uint64_t>(gate.slots_total));
  write(out, "llama3_slots_busy", "gauge", "slots held by a request",
        static_cast<std::uint64_t>(gate.slots_busy));
  const int engine_queued = engine ? engine->n_queued : 0;
  write(out, "llama3_queue_length", "gauge",
        "requests waiting for a slot or for KV memory in the engine",
        static_cast<std::uint64_t>(gate.waiting + engine_queued));
  if (engine) {
    write(out, "llama3_sequences_running", "gauge", "sequences prefilling or generating",
          static_cast<std::uint64_t>(engine->n_running));
    write(out, "llama3_kv_blocks_total", "gauge", "blocks in the KV pool",
          static_cast<std::uint64_t>(engine->n_blocks));
    write(out, "llama3_kv_blocks_used", "gauge", "KV blocks held by sequences or the prefix cache",
          static_cast<std::uint64_t>(engine->n_blocks - engine->n_free_blocks));
    write(out, "llama3_kv_blocks_cached", "gauge", "KV blocks held by the prefix cache",
          static_cast<std::uint64_t>(engine->n_cached_blocks));
    write(out, "llama3_engine_steps_total", "counter", "forward passes the engine has run",
          engine->n_steps);
    write(out, "llama3_draft_tokens_total", "counter",
          "tokens drafted (speculative decoding, --draft or --lookup)", engine->n_drafted);
    write(out, "llama3_draft_tokens_accepted_total", "counter",
          "drafted tokens the model's own sampling kept", engine->n_draft_accepted);
  }
  return out;
}

}  // namespace llama3::server
