// llama3 bench --lora: the cost of run-time LoRA adapters. Each round times the same prompt and
// generation without and with the adapters, alternating which goes first (ABBA), so that a host
// whose speed drifts during the run affects both alike; the figure of merit is the median over
// rounds of the with/without rate ratio, with the CPU time per token (user + system, all threads)
// beside it, which other processes on the host disturb less than wall-clock time.
#pragma once

#include <string>
#include <vector>

#include "llama3/lora.hpp"
#include "llama3/model.hpp"

namespace llama3::cli {

struct LoraBenchConfig {
  std::string model_label;
  std::vector<std::string> lora_specs;  // as given on the command line, for the report
  std::vector<ActiveLora> adapters;
  int n_prompt = 512;
  int n_gen = 128;
  int depth = 0;
  int n_threads = 2;
  int repetitions = 3;  // counted rounds; one more warms up first
  bool json = false;
};

int run_lora_bench(const Model& model, const LoraBenchConfig& config);

}  // namespace llama3::cli
