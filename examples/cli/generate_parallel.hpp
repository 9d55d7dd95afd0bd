// llama3 generate --parallel: many prompts at once through the engine.
#pragma once

#include <string>

#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"

namespace llama3::cli {

// What `generate --parallel` needs, parsed and checked by the generate command.
struct ParallelGenerateConfig {
  std::string prompt_file;  // one prompt per line
  bool parse_special = true;
  SessionOptions session;    // n_ctx per sequence and threads
  SamplerParams sampling;    // every request's (each gets its own Sampler)
  GenerateOptions generate;  // max_tokens and stop strings
  int kv_tokens = 0;
  int n_parallel = 1;
};

int run_generate_parallel(const Model& model, const ParallelGenerateConfig& config);

}  // namespace llama3::cli
