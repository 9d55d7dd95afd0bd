// `llama3`: the command-line tool. Dispatches to a subcommand; errors become a message and exit
// code 1.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "llama3/error.hpp"
#include "llama3/version.hpp"

namespace {

void print_usage() {
  std::printf("llama3 %s — run Llama 3 models on the CPU\n\nusage: llama3 COMMAND [options]\n\n",
              llama3::kVersionString);
  for (const auto& command : llama3::cli::all_commands()) {
    std::printf("  %-12s %s\n", command.name, command.summary);
  }
  std::printf("\n`llama3 COMMAND --help` describes a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 1 : 0;
  }
  if (std::string(argv[1]) == "--version") {
    std::printf("llama3 %s\n", llama3::kVersionString);
    return 0;
  }
  const std::string name = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& command : llama3::cli::all_commands()) {
    if (name != command.name) continue;
    try {
      return command.run(args);
    } catch (const llama3::Error& error) {
      std::fprintf(stderr, "llama3 %s: error (%s): %s\n", command.name,
                   llama3::error_code_name(error.code()), error.what());
    } catch (const std::exception& error) {
      std::fprintf(stderr, "llama3 %s: error: %s\n", command.name, error.what());
    }
    return 1;
  }
  std::fprintf(stderr, "llama3: unknown command '%s' (see llama3 --help)\n", name.c_str());
  return 1;
}
