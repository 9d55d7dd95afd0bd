// The table of subcommands. Each subcommand lives in its own <name>_command.cpp.
#include "commands.hpp"

#include <array>

namespace llama3::cli {

// Declared here rather than in a header per command: each is only referenced from this table.
int run_version(Args args);
int run_scan_code(Args args);

namespace {
constexpr std::array kCommands = {
    Command{"version", "print the library version", run_version},
    Command{"scan-code", "scan code for insecure patterns (exit 1 on BLOCK)", run_scan_code},
};
}  // namespace

std::span<const Command> all_commands() {
  return kCommands;
}

}  // namespace llama3::cli
