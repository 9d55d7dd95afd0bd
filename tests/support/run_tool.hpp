// Runs the `llama3` tool through the shell and captures its exit status, standard output and
// standard error, for tests of the command-line contract.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "support/test_data.hpp"

namespace llama3::testing {

struct ToolRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `arguments` is shell text after `llama3`; `stdin_text`, when given, is piped in.
inline ToolRun run_tool(const std::string& arguments, const std::string& scratch_name,
                        const std::string& stdin_text = "") {
  const auto dir = scratch_dir(scratch_name);
  const auto in = dir / "stdin.txt";
  const auto out = dir / "stdout.txt";
  const auto err = dir / "stderr.txt";
  std::ofstream(in) << stdin_text;
  const std::string command = (bin_dir() / "llama3").string() + " " + arguments + " <" +
                              in.string() + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(command.c_str());
  const auto slurp = [](const std::filesystem::path& path) {
    std::ifstream file(path);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
  };
  ToolRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = slurp(out);
  run.err = slurp(err);
  return run;
}

}  // namespace llama3::testing
