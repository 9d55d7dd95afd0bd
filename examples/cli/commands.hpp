// The `llama3` tool's subcommands. Each takes the arguments after its name and returns the exit
// code.
#pragma once

#include <span>
#include <string>

namespace llama3::cli {

using Args = std::span<const std::string>;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(Args args);
};

// Every subcommand, in the order `llama3 --help` lists them (defined in commands.cpp).
std::span<const Command> all_commands();

}  // namespace llama3::cli
