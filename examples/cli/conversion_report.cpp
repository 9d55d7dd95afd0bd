#include "conversion_report.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace llama3::cli {

bool print_progress(const ConvertProgress& progress) {
  // Only on a terminal, like the loading bar: a redirected log should not fill with frames.
  static const bool on_terminal = ::isatty(2) != 0;
  if (!on_terminal) return true;
  constexpr int kWidth = 30;
  const std::size_t total = progress.tensors_total;
  const std::size_t done = progress.tensors_done;
  const int filled = total ? static_cast<int>(done * kWidth / total) : kWidth;
  const std::string name(progress.tensor);
  std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu %-40.40s", filled, "##############################",
               kWidth - filled, "", done, total, name.c_str());
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
  return true;
}

void print_conversion_result(const char* command, const ConvertResult& result,
                             const std::string& out_path, const std::string& type) {
  for (const auto& warning : result.warnings) {
    std::fprintf(stderr, "llama3 %s: warning: %s\n", command, warning.c_str());
  }
  std::printf("llama3 %s: wrote %s (%s)\n", command, out_path.c_str(), type.c_str());
  std::printf("%-6s %8s %12s %s\n", "type", "tensors", "MiB", "relative RMSE");
  for (const auto& converted : result.types) {
    std::printf("%-6s %8d %12.2f %.6f\n", converted.type.c_str(), converted.tensors,
                static_cast<double>(converted.bytes) / (1 << 20), converted.relative_rmse);
  }
}

}  // namespace llama3::cli
