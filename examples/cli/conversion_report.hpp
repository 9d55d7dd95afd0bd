// What `llama3 convert` and `llama3 quantize` show while and after they work: a progress bar on a
// terminal (nothing in a redirected log), warnings on stderr, and the per-type error table.
#pragma once

#include "llama3/convert.hpp"

namespace llama3::cli {

// A ConvertOptions::progress callback: "\r[#####     ] 12/147 blk.3.ffn_up.weight" on stderr
// when stderr is a terminal. Never cancels.
bool print_progress(const ConvertProgress& progress);

// Warnings on stderr as "llama3 COMMAND: warning: ...", then "llama3 COMMAND: wrote OUT (TYPE)"
// and one line per output type: tensors, MiB, relative RMSE.
void print_conversion_result(const char* command, const ConvertResult& result,
                             const std::string& out_path, const std::string& type);

}  // namespace llama3::cli
