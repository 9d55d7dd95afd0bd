// llama3 perplexity: exp(mean negative log-likelihood) of a text under the model.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "commands.hpp"
#include "llama3/error.hpp"
#include "llama3/perplexity.hpp"
#include "llama3/session.hpp"
#include "model_loading.hpp"

namespace llama3::cli {
namespace {

constexpr const char* kHelp =
    "usage: llama3 perplexity [-m MODEL.gguf] -f TEXT_FILE [-c CTX] [--max-tokens N] [--all-positions]\n"
    "                         [--threads N]\n"
    "  The text is tokenized once (BOS first). By default it is scored as llama.cpp's perplexity tool\n"
    "  does, so figures compare: the tokens are cut into chunks of CTX (default: the model's context,\n"
    "  at most 4096), the first token of each chunk is replaced by BOS, and only the predictions in\n"
    "  the second half of each chunk are scored (each with at least CTX/2 tokens of context).\n"
    "  --all-positions  instead score every token, in windows of CTX that each start with BOS\n"
    "  --max-tokens N   use only the first N tokens of the text (BOS included)\n"
    "  --keep-crlf      keep \"\\r\\n\" line ends (by default they are read as \"\\n\")\n";

}  // namespace

int run_perplexity(Args args) {
  const Options options(args, {"--no-mmap", "--all-positions", "--keep-crlf", "--help", "-h"});
  if (options.has("--help") || options.has("-h")) {
    std::printf("%s", kHelp);
    return 0;
  }
  const auto text_path = options.get("-f");
  if (!text_path) throw Error(ErrorCode::kInvalidArgument, "-f TEXT_FILE is required");
  std::ifstream in(*text_path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read " + *text_path);
  std::ostringstream buffer;
  buffer << in.rdbuf();

  std::string text = buffer.str();
  if (!options.has("--keep-crlf")) {
    // Read as a text file: Windows line ends become '\n', as a text-mode read would give.
    std::string normalized;
    normalized.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
      normalized += text[i];
    }
    text.swap(normalized);
  }

  const Model model = load_model_from_options(options);
  const Tokenizer& tokenizer = model.tokenizer();
  std::vector<TokenId> tokens = tokenizer.encode(text, {.add_bos = true});
  const int max_tokens = options.get_int("--max-tokens", 0);
  if (max_tokens > 0 && tokens.size() > static_cast<std::size_t>(max_tokens)) tokens.resize(max_tokens);
  if (tokens.size() < 2) throw Error(ErrorCode::kInvalidArgument, "the text has too few tokens");

  SessionOptions session_options;
  session_options.n_threads = options.get_int("--threads", 0);
  session_options.n_ctx = options.get_int("-c", 0);
  Session session(model, session_options);
  PerplexityOptions perplexity_options;
  if (options.has("--all-positions")) {
    perplexity_options.method = PerplexityOptions::Method::kAllPositions;
  }
  const bool interactive = ::isatty(2) != 0;
  if (interactive) {
    perplexity_options.progress = [](std::size_t scored, double perplexity) {
      std::fprintf(stderr, "\r%zu predictions scored, perplexity so far %.4f", scored, perplexity);
    };
  }
  const PerplexityResult result = evaluate_perplexity(session, tokens, perplexity_options);
  if (interactive) std::fprintf(stderr, "\n");
  std::printf("perplexity: %.4f over %zu predicted tokens (%zu tokens with BOS, context %d)\n",
              result.perplexity, result.n_scored, tokens.size(), session.context_size());
  return 0;
}

}  // namespace llama3::cli
