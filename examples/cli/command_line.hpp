// Parsing a subcommand's arguments with CLI11, the same way for every command: unknown options,
// missing or malformed values and values out of range are usage errors (exit 2, with a "did you
// mean" hint) raised before any work starts; `--help` prints every option and exits 0.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"

namespace llama3::cli {

constexpr int kExitUsage = 2;

// A mistake in how the tool was called. main() prints it with a pointer to `--help` and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An App for `llama3 NAME`, with the house help layout. Unknown arguments are collected rather than
// rejected by CLI11, so that parse_command_line can say which option was meant.
std::unique_ptr<CLI::App> make_command_app(const std::string& name, const std::string& description);

// Parses `args` into the options declared on `app`. Returns false when --help was printed (the
// command should return 0); throws UsageError on any error.
bool parse_command_line(CLI::App& app, Args args);

// The closest declared option to `unknown` ("--temprature" -> "--temp"), or "" when none is close.
std::string closest_option(const CLI::App& app, const std::string& unknown);

// Value checks that run before conversion, so that their messages (rather than CLI11's "could not
// convert") say what is allowed. Each rejects NaN and infinities.
CLI::Validator number_in(double min,
                         double max);     // a finite number in [min, max]; a bound may be infinite
CLI::Validator number_above(double min);  // a finite number > min
CLI::Validator integer_in(long long min, long long max);

// A value that must be one of `names` ("md", "json", ...), turned into its enum. The error lists
// the names.
template <typename Enum>
CLI::Validator choice_of(const std::vector<std::pair<std::string, Enum>>& names) {
  std::string listed;
  for (const auto& entry : names) listed += (listed.empty() ? "" : ", ") + entry.first;
  return CLI::Validator(
      [names, listed](std::string& text) -> std::string {
        for (const auto& [name, value] : names) {
          if (text == name) {
            text = std::to_string(static_cast<int>(value));  // what CLI11 converts to the enum
            return {};
          }
        }
        return "'" + text + "' is not one of " + listed;
      },
      "");
}

}  // namespace llama3::cli
