#include "safety_options.hpp"

#include <cstdio>
#include <filesystem>

#include "llama3/error.hpp"

namespace llama3::cli {

Guard load_guard(const std::string& path, const std::optional<std::string>& version_text,
                 GuardOptions options) {
  if (version_text) {
    if (*version_text == "2") {
      options.version = GuardVersion::kGuard2;
    } else if (*version_text == "3") {
      options.version = GuardVersion::kGuard3;
    } else if (*version_text == "3-1b" || *version_text == "3-1B") {
      options.version = GuardVersion::kGuard3_1B;
    } else {
      throw Error(ErrorCode::kInvalidArgument,
                  "--version '" + *version_text + "': expected 2, 3 or 3-1b");
    }
  }
  const Model model = Model::load(path);
  // A renamed or metadata-poor file may still say what it is in its name.
  if (!options.version) {
    const auto from_metadata = guard_version_from_name(model.config().name);
    if (!from_metadata) {
      options.version = guard_version_from_name(std::filesystem::path(path).filename().string());
    }
  }
  return Guard(model, options);
}

void SafetyFilters::apply(GenerateOptions& options, const std::string& user_text) {
  if (guard) {
    options.input_filters.push_back(guard_input_filter(*guard));
    options.output_filters.push_back(guard_output_filter(*guard, {{"user", user_text}}));
  }
  if (scanner) options.output_filters.push_back(code_scanner_output_filter(*scanner));
}

SafetyFilters load_safety_filters(const Options& options) {
  SafetyFilters filters;
  if (const auto path = options.get("--guard")) {
    GuardOptions guard_options;
    guard_options.threshold = options.get_float("--guard-threshold", guard_options.threshold);
    guard_options.n_threads = options.get_int("--threads", 0);
    filters.guard.emplace(load_guard(*path, options.get("--guard-version"), guard_options));
  }
  if (options.has("--scan-code")) filters.scanner.emplace(CodeScanner::with_builtin_rules());
  return filters;
}

void report_filters(const GenerateResult& result) {
  if (result.stop_reason == StopReason::kBlocked) {
    std::fprintf(stderr, "blocked: %s\n", result.filter_reason.c_str());
  } else if (result.stop_reason == StopReason::kFiltered) {
    std::fprintf(stderr, "filtered: %s\n", result.filter_reason.c_str());
  }
  for (const auto& note : result.notes) {
    if (note != result.filter_reason) std::fprintf(stderr, "note: %s\n", note.c_str());
  }
}

}  // namespace llama3::cli
