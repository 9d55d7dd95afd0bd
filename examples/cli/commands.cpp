// The table of subcommands. Each subcommand lives in its own <name>_command.cpp.
#include "commands.hpp"

#include <array>

namespace llama3::cli {

// Declared here rather than in a header per command: each is only referenced from this table.
int run_generate(Args args);
int run_perplexity(Args args);
int run_eval_logits(Args args);
int run_version(Args args);
int run_bench(Args args);
int run_tokenize(Args args);
int run_detokenize(Args args);

namespace {
constexpr std::array kCommands = {
    Command{"generate", "generate text from a prompt", run_generate},
    Command{"perplexity", "perplexity of a model over a text file", run_perplexity},
    Command{"eval-logits", "write the logits of every position of a token list", run_eval_logits},
    Command{"bench", "prompt and generation speed, load time and peak RSS of a model", run_bench},
    Command{"version", "print the library version", run_version},
    Command{"tokenize", "print the token ids of a text", run_tokenize},
    Command{"detokenize", "print the text of token ids", run_detokenize},
};
}  // namespace

std::span<const Command> all_commands() {
  return kCommands;
}

}  // namespace llama3::cli
