// `llama3 chat`: an interactive conversation over standard input, one user message per line. The
// session is kept between turns, so each turn decodes only the new message, not the whole dialog.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "llama3/chat.hpp"
#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "safety_options.hpp"
#include "structured_options.hpp"

namespace llama3::cli {
namespace {

struct ChatCommandOptions {
  ModelOptions model;
  ContextOptions context;
  LoraOptions lora;
  SamplingOptions sampling;
  GenerationOptions generation{512};
  SafetyOptions safety;
  StructuredOptions structured;
  std::optional<std::string> system_prompt;
};

void declare(CLI::App& app, ChatCommandOptions& options) {
  options.model.declare(app);
  // llama.cpp's -sys is respelled to --system-prompt by parse_command_line.
  app.add_option("--system-prompt,--system", options.system_prompt,
                 "a system message for the conversation (also -sys)");
  options.generation.declare(app);
  options.sampling.declare(app);
  options.context.declare(app);
  options.lora.declare(app);
  options.structured.declare(app, /*with_logprobs=*/false);
  options.safety.declare(app);
  app.footer(
      "Reads one user message per line from standard input and streams each answer to standard\n"
      "output (one answer per turn, then a newline). Ends at end of input. Per turn, stderr gets "
      "a\n"
      "status line, and what the filters blocked or noted. -n limits each answer.\n"
      "--grammar, --json-schema and --regex constrain every answer (each starts the grammar\n"
      "afresh).");
}

}  // namespace

int run_chat(Args args) {
  const auto app = make_command_app("chat", "Chat with an instruct model over stdin lines.");
  ChatCommandOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;

  const Model model = options.model.load();
  SessionOptions session_options = options.context.session_options(model);
  session_options.adapters = options.lora.load(model);
  ChatOptions chat_options;
  chat_options.chat_template = model.metadata_string("tokenizer.chat_template");
  const ChatFormat chat(model.tokenizer(), chat_options);
  SafetyFilters filters = options.safety.load(session_options.n_threads);

  Session session(model, session_options);
  SamplerParams sampling = options.sampling.params(model);
  options.structured.apply(model, sampling);
  Sampler sampler(sampling);
  const auto& system = options.system_prompt;
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

    if (sampling.grammar && turn > 1) {
      // The grammar finished with the last answer: a fresh matcher for this one, and the next
      // seed so that turns do not repeat each other's draws.
      ++sampling.seed;
      sampler = Sampler(sampling);
    }
    GenerateOptions generate = options.generation.generate_options();
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
