// Loading a model from the command line: options shared by the subcommands and a progress bar on
// stderr for files large enough to take a moment.
#pragma once

#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "options.hpp"

namespace llama3::cli {

// Reads -m (default: stories260K), --no-mmap; shows a progress bar for files over 64 MiB.
Model load_model_from_options(const Options& options);

// --threads and --ctx (0: the defaults).
SessionOptions session_options_from(const Options& options);

// The model's default sampling (generation_config.json for a Hugging Face folder, else the
// library's), overridden by --temp, --top-k, --top-p, --min-p and --seed.
SamplerParams sampler_params_from(const Options& options, const Model& model);

}  // namespace llama3::cli
