// Helpers for the tests of the `llama3` tool's command line: the stories260K model's path, quoting
// for the shell, and a parsed -o json answer.
#pragma once

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "support/hostile_input.hpp"
#include "support/run_tool.hpp"
#include "support/test_data.hpp"

namespace llama3::testing {

inline std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string stories_arg() {
  return "-m " + quoted(require_data_file("stories260K.gguf").string());
}

// Runs the tool, requires exit 0, and parses its standard output as JSON.
inline nlohmann::json run_json(const std::string& arguments, const std::string& scratch_name) {
  const ToolRun run = run_tool(arguments, scratch_name);
  INFO("llama3 " << arguments << "\nstderr: " << run.err << "\nstdout: " << run.out);
  REQUIRE(run.exit_code == 0);
  nlohmann::json document;
  REQUIRE_NOTHROW(document = nlohmann::json::parse(run.out));
  return document;
}

// Counts a run given bad arguments for the rejection table: exit 2 (a usage error) is a clean
// rejection, exit 0 an acceptance, anything else (a crash, another failure) is not clean.
inline void tally_bad_arguments(const ToolRun& run) {
  auto& tally = HostileInputTally::instance();
  if (run.exit_code == 2) {
    tally.record_rejected("cli_args");
  } else if (run.exit_code == 0) {
    tally.record_accepted("cli_args");
  } else {
    tally.record_failed("cli_args");
  }
}

// A usage error: exit 2, nothing on stdout (no work was started), and the message on stderr.
inline ToolRun run_usage_error(const std::string& arguments, const std::string& scratch_name) {
  ToolRun run = run_tool(arguments, scratch_name);
  tally_bad_arguments(run);
  INFO("llama3 " << arguments << "\nstderr: " << run.err << "\nstdout: " << run.out);
  CHECK(run.exit_code == 2);
  CHECK(run.out.empty());
  return run;
}

}  // namespace llama3::testing
