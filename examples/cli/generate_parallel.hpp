// llama3 generate --parallel: many prompts at once through the engine.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "llama3/engine.hpp"
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

// Builds the engine; unset: Engine(model, options). Under mpirun, the pipeline's.
using EngineMaker = std::function<std::unique_ptr<Engine>(const EngineOptions& options)>;

int run_generate_parallel(const Model& model, const ParallelGenerateConfig& config,
                          const EngineMaker& make_engine = {});

}  // namespace llama3::cli
