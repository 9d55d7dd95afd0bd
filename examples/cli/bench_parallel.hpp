// llama3 bench --parallel: many sequences at once through the Engine (aggregate and per-sequence
// generation rate, time to first token, peak RSS), and the shared-prefix scenario.
#pragma once

#include <string>
#include <vector>

#include "llama3/model.hpp"
#include "llama3/session.hpp"

namespace llama3::cli {

struct ParallelBenchConfig {
  std::string model_label;
  std::vector<int> n_parallel;  // one row per entry
  int n_prompt = 128;
  int n_gen = 128;
  int n_threads = 2;
  int shared_prefix = 0;  // > 0: also the shared-prefix scenario with this many prefix tokens
  int n_shared_requests = 8;
  // When enabled, each row runs twice, plain and with this speculative decoding (prompt lookup or
  // a draft model), one after the other on the same prompts, with the drafts kept.
  SpeculativeOptions speculative;
  std::string draft_label;  // the draft model's path or "lookup N"
  bool json = false;
};

int run_parallel_bench(const Model& model, const ParallelBenchConfig& config);

// "1,2,4" -> {1, 2, 4}; throws Error(kInvalidArgument) on anything else.
std::vector<int> parse_int_list(const std::string& text, const char* option);

}  // namespace llama3::cli
