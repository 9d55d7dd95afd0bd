// The `llama3` tool's subcommands. Each takes the arguments after its name and returns the exit
// code.
#pragma once

#include <exception>
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

// Prints "llama3 COMMAND: error (CODE): MESSAGE" (or "error: MESSAGE" for an exception that is not
// a llama3::Error) to stderr and flushes it.
void print_error(const char* command, const std::exception& error);

}  // namespace llama3::cli
