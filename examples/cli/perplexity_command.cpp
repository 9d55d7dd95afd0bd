// llama3 perplexity: exp(mean negative log-likelihood) of a text under the model.
#include <chrono>
#include <climits>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <unistd.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "llama3/error.hpp"
#include "llama3/perplexity.hpp"
#include "llama3/session.hpp"

namespace llama3::cli {
namespace {

struct PerplexityCommandOptions {
  ModelOptions model;
  ContextOptions context;
  std::string text_path;
  int max_tokens = 0;
  bool all_positions = false;
  bool keep_crlf = false;
  OutputFormat format = OutputFormat::kText;
};

void declare(CLI::App& app, PerplexityCommandOptions& options) {
  options.model.declare(app);
  app.add_option("-f,--file", options.text_path, "the text to score")
      ->type_name("PATH")
      ->required();
  options.context.declare(app);
  app.add_option("--max-tokens", options.max_tokens,
                 "use only the first N tokens of the text, BOS included (default 0: all)")
      ->check(integer_in(0, INT_MAX));
  app.add_flag("--all-positions", options.all_positions,
               "score every token, in windows of CTX that each start with BOS");
  app.add_flag("--keep-crlf", options.keep_crlf,
               "keep \"\\r\\n\" line ends (by default they are read as \"\\n\")");
  declare_output_format(app, options.format,
                        {{"text", OutputFormat::kText}, {"json", OutputFormat::kJson}});
  app.footer(
      "The text is tokenized once (BOS first). By default it is scored as llama.cpp's perplexity\n"
      "tool does, so figures compare: the tokens are cut into chunks of CTX (default: the model's\n"
      "context, at most 4096), the first token of each chunk is replaced by BOS, and only the\n"
      "predictions in the second half of each chunk are scored (each with at least CTX/2 tokens "
      "of\n"
      "context).");
}

}  // namespace

int run_perplexity(Args args) {
  const auto app = make_command_app("perplexity", "Perplexity of a model over a text file.");
  PerplexityCommandOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;

  std::ifstream in(options.text_path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read " + options.text_path);
  std::ostringstream buffer;
  buffer << in.rdbuf();

  std::string text = buffer.str();
  if (!options.keep_crlf) {
    // Read as a text file: Windows line ends become '\n', as a text-mode read would give.
    std::string normalized;
    normalized.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
      normalized += text[i];
    }
    text.swap(normalized);
  }

  const Model model = options.model.load();
  const Tokenizer& tokenizer = model.tokenizer();
  std::vector<TokenId> tokens = tokenizer.encode(text, {.add_bos = true});
  if (options.max_tokens > 0 && tokens.size() > static_cast<std::size_t>(options.max_tokens)) {
    tokens.resize(static_cast<std::size_t>(options.max_tokens));
  }
  if (tokens.size() < 2) throw Error(ErrorCode::kInvalidArgument, "the text has too few tokens");

  Session session(model, options.context.session_options(model));
  PerplexityOptions perplexity_options;
  if (options.all_positions) {
    perplexity_options.method = PerplexityOptions::Method::kAllPositions;
  }
  const bool interactive = ::isatty(2) != 0;
  if (interactive) {
    perplexity_options.progress = [](std::size_t scored, double perplexity) {
      std::fprintf(stderr, "\r%zu predictions scored, perplexity so far %.4f", scored, perplexity);
    };
  }
  const auto start = std::chrono::steady_clock::now();
  const PerplexityResult result = evaluate_perplexity(session, tokens, perplexity_options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (interactive) std::fprintf(stderr, "\n");
  if (options.format == OutputFormat::kJson) {
    const nlohmann::json document = {
        {"perplexity", result.perplexity},
        {"n_scored", result.n_scored},
        {"n_tokens", tokens.size()},
        {"n_ctx", session.context_size()},
        {"method", options.all_positions ? "all_positions" : "second_half"},
        {"seconds", seconds}};
    std::printf("%s\n", document.dump(2).c_str());
    return 0;
  }
  std::printf("perplexity: %.4f over %zu predicted tokens (%zu tokens with BOS, context %d)\n",
              result.perplexity, result.n_scored, tokens.size(), session.context_size());
  return 0;
}

}  // namespace llama3::cli
