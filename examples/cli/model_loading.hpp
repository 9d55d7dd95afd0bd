// Loading a model from the command line: options shared by the subcommands and a progress bar on
// stderr for files large enough to take a moment.
#pragma once

#include "llama3/model.hpp"
#include "options.hpp"

namespace llama3::cli {

// Reads -m (default: stories260K), --no-mmap; shows a progress bar for files over 64 MiB.
Model load_model_from_options(const Options& options);

}  // namespace llama3::cli
