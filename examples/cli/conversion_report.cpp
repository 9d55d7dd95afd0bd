#include "conversion_report.hpp"

#include <cstdio>
#include <memory>
#include <string>

#include "command_line.hpp"
#include "common_options.hpp"
#include "kernels/reference.hpp"
#include "model/quant_mix.hpp"

namespace llama3::cli {

ConvertOptions conversion_options(const std::string& type, int n_threads, ProgressReport& report) {
  const auto mix = model::quant_mix_from_name(type);
  if (!mix || !kernels::reference::is_supported_weight_type(mix->base)) {
    throw UsageError("unknown type '" + type + "'");
  }
  ConvertOptions options;
  options.type = type;
  options.n_threads = clamp_threads(n_threads);
  // The library reports before each tensor (and once at the end); a line names the tensor just
  // written, so each report completes the one before it.
  auto written = std::make_shared<std::string>();
  options.progress = [&report, written](const ConvertProgress& step) {
    if (step.tensors_done > 0) report.update(step.tensors_done, step.tensors_total, *written);
    *written = step.tensor;
    return true;
  };
  return options;
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
