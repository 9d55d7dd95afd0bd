// llama3 bench --parallel: many sequences at once through the Engine (aggregate and per-sequence
// generation rate, time to first token, peak RSS), and the shared-prefix scenario.
#pragma once

#include <string>
#include <vector>

#include "llama3/model.hpp"

namespace llama3::cli {

struct ParallelBenchConfig {
  std::string model_label;
  std::vector<int> n_parallel;  // one row per entry
  int n_prompt = 128;
  int n_gen = 128;
  int n_threads = 2;
  int shared_prefix = 0;  // > 0: also the shared-prefix scenario with this many prefix tokens
  int n_shared_requests = 8;
  // > 0: each row runs twice, plain and with prompt-lookup speculative decoding (n-grams of up to
  // this many tokens, draft_max drafts a step), alternating, with the drafts kept.
  int lookup_ngram = 0;
  int draft_max = 8;
  bool json = false;
};

int run_parallel_bench(const Model& model, const ParallelBenchConfig& config);

// "1,2,4" -> {1, 2, 4}; throws Error(kInvalidArgument) on anything else.
std::vector<int> parse_int_list(const std::string& text, const char* option);

}  // namespace llama3::cli
