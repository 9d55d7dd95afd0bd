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

void SafetyOptions::declare(CLI::App& app) {
  app.add_option("--guard", guard_path,
                 "classify the prompt (block it) and the answer with this Llama Guard model")
      ->type_name("PATH");
  app.add_option(
         "--guard-version", guard_version,
         "the Guard model's version: 2, 3 or 3-1b (default: from its metadata or name); needs "
         "--guard")
      ->type_name("V")
      ->check(guard_version_names())
      ->needs("--guard");
  app.add_option(
         "--guard-threshold", guard_threshold,
         "P(unsafe) at or above which the Guard verdict is unsafe (in [0, 1]; default 0.5); "
         "needs --guard")
      ->check(number_in(0.0, 1.0))
      ->needs("--guard");
  app.add_flag("--scan-code", scan_code,
               "stop when the answer's code blocks hold insecure code (error findings)");
}

SafetyFilters SafetyOptions::load(int n_threads) const {
  SafetyFilters filters;
  if (!guard_path.empty()) {
    GuardOptions guard_options;
    if (guard_threshold) guard_options.threshold = *guard_threshold;
    guard_options.n_threads = n_threads;
    filters.guard.emplace(load_guard(guard_path, guard_version, guard_options));
  }
  if (scan_code) filters.scanner.emplace(CodeScanner::with_builtin_rules());
  return filters;
}

CLI::Validator guard_version_names() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text == "2" || text == "3" || text == "3-1b" || text == "3-1B") return {};
        return "'" + text + "' is not a Guard version: expected 2, 3 or 3-1b";
      },
      "");
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
