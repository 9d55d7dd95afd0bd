// The table of subcommands. Each subcommand lives in its own <name>_command.cpp.
#include "commands.hpp"

#include <array>

namespace llama3::cli {

// Declared here rather than in a header per command: each is only referenced from this table.
int run_version(Args args);
int run_tokenize(Args args);
int run_detokenize(Args args);

namespace {
constexpr std::array kCommands = {
    Command{"version", "print the library version", run_version},
    Command{"tokenize", "print the token ids of a text", run_tokenize},
    Command{"detokenize", "print the text of token ids", run_detokenize},
};
}  // namespace

std::span<const Command> all_commands() {
  return kCommands;
}

}  // namespace llama3::cli
