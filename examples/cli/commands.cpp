// The table of subcommands. Each subcommand lives in its own <name>_command.cpp.
#include "commands.hpp"

#include <array>
#include <cstdio>

#include "llama3/error.hpp"

namespace llama3::cli {

// Declared here rather than in a header per command: each is only referenced from this table.
int run_generate(Args args);
int run_perplexity(Args args);
int run_eval_logits(Args args);
int run_version(Args args);
int run_bench(Args args);
int run_tokenize(Args args);
int run_detokenize(Args args);
int run_quantize(Args args);
int run_convert(Args args);
int run_export_lora(Args args);
int run_scan_code(Args args);
int run_guard(Args args);
int run_chat(Args args);
int run_serve(Args args);

namespace {
constexpr std::array kCommands = {
    Command{"generate", "generate text from a prompt", run_generate},
    Command{"chat", "chat with an instruct model over stdin lines", run_chat},
    Command{"serve", "serve the model over an OpenAI-compatible HTTP API", run_serve},
    Command{"perplexity", "perplexity of a model over a text file", run_perplexity},
    Command{"eval-logits", "write the logits of every position of a token list", run_eval_logits},
    Command{"bench", "prompt and generation speed, load time and peak RSS of a model", run_bench},
    Command{"tokenize", "print the token ids of a text", run_tokenize},
    Command{"detokenize", "print the text of token ids", run_detokenize},
    Command{"quantize", "rewrite a GGUF model's weights in another type (q4_k_m, q8_0, ...)",
            run_quantize},
    Command{"convert", "convert a Hugging Face folder to a GGUF file", run_convert},
    Command{"export-lora", "merge LoRA adapters into a GGUF model", run_export_lora},
    Command{"scan-code", "scan code for insecure patterns (exit 1 on BLOCK)", run_scan_code},
    Command{"guard", "classify a prompt or answer with Llama Guard (exit 1 if unsafe)", run_guard},
    Command{"version", "print the library version", run_version},
};
}  // namespace

std::span<const Command> all_commands() {
  return kCommands;
}

void print_error(const char* command, const std::exception& error) {
  if (const auto* ours = dynamic_cast<const Error*>(&error)) {
    std::fprintf(stderr, "llama3 %s: error (%s): %s\n", command, error_code_name(ours->code()),
                 ours->what());
  } else {
    std::fprintf(stderr, "llama3 %s: error: %s\n", command, error.what());
  }
  std::fflush(stderr);
}

}  // namespace llama3::cli
