// The safety options shared by `generate` and `chat` (--guard, --guard-version, --scan-code) and by
// `guard` (-m, --version): loading a Llama Guard model, wiring the ready-made filters into a
// generation, and reporting what they did on stderr.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "llama3/safety.hpp"
#include "llama3/session.hpp"

namespace llama3::cli {

// Loads a Llama Guard model. The version comes from `version_text` ("2", "3", "3-1b") when given,
// else from the model's metadata, else from the file name; throws kInvalidArgument when none tells.
Guard load_guard(const std::string& path, const std::optional<std::string>& version_text,
                 GuardOptions options = {});

// What --guard FILE / --scan-code asked for.
struct SafetyFilters {
  std::optional<Guard> guard;
  std::optional<CodeScanner> scanner;

  bool any() const { return guard.has_value() || scanner.has_value(); }
  // Adds the input filter (guard) and output filters (guard over `user_text`, code scanner).
  void apply(GenerateOptions& options, const std::string& user_text);
};

// --guard, --guard-version, --guard-threshold and --scan-code.
struct SafetyOptions {
  std::string guard_path;
  std::optional<std::string> guard_version;
  std::optional<float> guard_threshold;
  bool scan_code = false;

  void declare(CLI::App& app);
  SafetyFilters load(int n_threads) const;
};

// --version V of `llama3 guard` and --guard-version V: "2", "3" or "3-1b".
CLI::Validator guard_version_names();

// Prints "blocked: ...", "filtered: ..." and each note on stderr.
void report_filters(const GenerateResult& result);

}  // namespace llama3::cli
