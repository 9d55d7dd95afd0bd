// What `llama3 convert` and `llama3 quantize` show after they work: warnings on stderr and the
// per-type error table (progress.hpp shows the progress).
#pragma once

#include "llama3/convert.hpp"

namespace llama3::cli {

// Warnings on stderr as "llama3 COMMAND: warning: ...", then "llama3 COMMAND: wrote OUT (TYPE)"
// and one line per output type: tensors, MiB, relative RMSE.
void print_conversion_result(const char* command, const ConvertResult& result,
                             const std::string& out_path, const std::string& type);

}  // namespace llama3::cli
