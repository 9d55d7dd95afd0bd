// llama3 generate --parallel: many prompts at once through the engine.
#pragma once

#include "llama3/model.hpp"
#include "options.hpp"

namespace llama3::cli {

int run_generate_parallel(const Model& model, const Options& options, int n_parallel);

}  // namespace llama3::cli
