// `llama3`: the command-line tool. Dispatches to a subcommand. A usage error (unknown option, bad
// or out-of-range value) exits 2 before any work; an error while working exits 1.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "commands.hpp"
#include "llama3/error.hpp"
#include "llama3/version.hpp"

namespace {

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "llama3 %s — run Llama 3 models on the CPU\n\nusage: llama3 COMMAND [options]\n\n",
               llama3::kVersionString);
  for (const auto& command : llama3::cli::all_commands()) {
    std::fprintf(out, "  %-12s %s\n", command.name, command.summary);
  }
  std::fprintf(out, "\n`llama3 COMMAND --help` describes a command's options.\n");
}

// The command whose name is closest to a mistyped one ("genrate" -> "generate"), or "".
std::string closest_command(const std::string& name) {
  CLI::App names;
  for (const auto& command : llama3::cli::all_commands()) {
    names.add_flag(std::string("--") + command.name);
  }
  const std::string closest = llama3::cli::closest_option(names, "--" + name);
  return closest.empty() ? closest : closest.substr(2);
}

}  // namespace

int main(int argc, char** argv) {
  using llama3::cli::kExitUsage;
  if (argc < 2) {
    print_usage(stderr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("llama3 %s\n", llama3::kVersionString);
    return 0;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  const auto commands = llama3::cli::all_commands();
  const auto command = std::find_if(commands.begin(), commands.end(),
                                    [&](const auto& entry) { return name == entry.name; });
  if (command == commands.end()) {
    const std::string hint = closest_command(name);
    std::fprintf(stderr, "llama3: unknown command '%s'%s (see llama3 --help)\n", name.c_str(),
                 hint.empty() ? "" : (" (did you mean " + hint + "?)").c_str());
    return kExitUsage;
  }
  try {
    return command->run(args);
  } catch (const llama3::cli::UsageError& error) {
    std::fprintf(stderr, "llama3 %s: %s\nRun 'llama3 %s --help' for the options.\n", command->name,
                 error.what(), command->name);
    return kExitUsage;
  } catch (const std::exception& error) {
    llama3::cli::print_error(command->name, error);
  }
  return 1;
}
