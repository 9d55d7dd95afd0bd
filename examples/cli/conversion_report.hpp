// What `llama3 convert` and `llama3 quantize` show after they work: warnings on stderr and the
// per-type error table (progress.hpp shows the progress).
#pragma once

#include <string>

#include "llama3/convert.hpp"
#include "progress.hpp"

namespace llama3::cli {

// The library's options for `convert` and `quantize`: TYPE checked before any file is opened (an
// unknown one is a usage error, exit 2), threads clamped to the hardware, and progress fed to
// `report` as lines naming the tensor just written. `report` must outlive the conversion.
ConvertOptions conversion_options(const std::string& type, int n_threads, ProgressReport& report);

// Warnings on stderr as "llama3 COMMAND: warning: ...", then "llama3 COMMAND: wrote OUT (TYPE)"
// and one line per output type: tensors, MiB, relative RMSE.
void print_conversion_result(const char* command, const ConvertResult& result,
                             const std::string& out_path, const std::string& type);

}  // namespace llama3::cli
