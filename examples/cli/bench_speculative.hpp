// llama3 bench --draft / --lookup: greedy generation with and without speculative decoding on the
// same prompt, alternating the two in every round, with the acceptance figures and the speed-up.
#pragma once

#include <string>
#include <vector>

#include "llama3/model.hpp"
#include "llama3/session.hpp"

namespace llama3::cli {

struct SpeculativeBenchConfig {
  std::string model_label;
  std::string draft_label;  // the draft model's path, or "lookup N"
  SpeculativeOptions speculative;
  std::vector<TokenId> prompt;
  int n_gen = 128;
  int n_threads = 2;
  int repetitions = 3;
  bool json = false;
};

int run_speculative_bench(const Model& model, const SpeculativeBenchConfig& config);

}  // namespace llama3::cli
