// `llama3 chat`: an interactive conversation over standard input, one user message per line. The
// session is kept between turns, so each turn decodes only the new message, not the whole dialog.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "commands.hpp"
#include "llama3/chat.hpp"
#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "model_loading.hpp"
#include "safety_options.hpp"

namespace llama3::cli {
namespace {

constexpr const char* kHelp =
    "usage: llama3 chat -m MODEL.gguf [--system TEXT] [--guard GUARD.gguf] [--guard-version V]\n"
    "                   [--guard-threshold P] [--scan-code] [-n N] [--temp T] [--top-k K]\n"
    "                   [--top-p P] [--min-p P]\n"
    "                   [--seed S] [--threads N] [--ctx N] [--no-mmap]\n\n"
    "Reads one user message per line from standard input and streams each answer to standard\n"
    "output (one answer per turn, then a newline). Ends at end of input.\n\n"
    "  --system      a system message for the conversation\n"
    "  --guard       classify each message and each answer with this Llama Guard model\n"
    "  --scan-code   stop an answer whose code blocks hold insecure code (error findings)\n"
    "  -n            tokens per answer at most (default 512)\n"
    "Per turn, stderr gets a status line, and what the filters blocked or noted.\n";

}  // namespace

int run_chat(Args args) {
  const Options options(args, {"--no-mmap", "--scan-code", "--help", "-h"});
  if (options.has("--help") || options.has("-h")) {
    std::printf("%s", kHelp);
    return 0;
  }
  if (!options.positional().empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "unexpected argument '" + options.positional()[0] + "'");
  }
  const Model model = load_model_from_options(options);
  ChatOptions chat_options;
  chat_options.chat_template = model.metadata_string("tokenizer.chat_template");
  const ChatFormat chat(model.tokenizer(), chat_options);
  SafetyFilters filters = load_safety_filters(options);

  Session session(model, session_options_from(options));
  Sampler sampler(sampler_params_from(options, model));
  const int max_tokens = options.get_int("-n", 512);
  const auto system = options.get("--system");
  const bool interactive = ::isatty(0) != 0;
  const TokenId eot = *model.tokenizer().find("<|eot_id|>");  // ChatFormat checked it exists

  std::string line;
  for (int turn = 1;; ++turn) {
    if (interactive) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) {
      --turn;
      continue;
    }
    // The first turn opens the dialog (BOS, system block); a later one first closes the previous
    // answer, whose end-of-turn token was sampled but never decoded (or which was cut short).
    std::vector<TokenId> prompt;
    if (session.n_past() == 0) {
      Dialog dialog;
      if (system) dialog.push_back({Role::kSystem, *system});
      dialog.push_back({Role::kUser, line});
      prompt = chat.encode_dialog_prompt(dialog);
    } else {
      prompt.push_back(eot);
      const auto message = chat.encode_message({Role::kUser, line});
      prompt.insert(prompt.end(), message.begin(), message.end());
      const auto header = chat.encode_header(Role::kAssistant);
      prompt.insert(prompt.end(), header.begin(), header.end());
    }

    GenerateOptions generate;
    generate.max_tokens = max_tokens;
    generate.on_piece = [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
    filters.apply(generate, line);
    const GenerateResult result = session.generate(prompt, sampler, generate);
    std::printf("\n");
    std::fflush(stdout);
    report_filters(result);
    std::fprintf(stderr, "[turn %d: %zu tokens, stop: %s, context: %d tokens]\n", turn,
                 result.tokens.size(), stop_reason_name(result.stop_reason), session.n_past());
  }
  return 0;
}

}  // namespace llama3::cli
