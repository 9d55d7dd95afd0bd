#include "conversion_report.hpp"

#include <cstdio>
#include <string>

namespace llama3::cli {

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
