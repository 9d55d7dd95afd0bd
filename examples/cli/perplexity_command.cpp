// llama3 perplexity: exp(mean negative log-likelihood) of a text under the model.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.hpp"
#include "llama3/error.hpp"
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
    "  --max-tokens N   use only the first N tokens of the text (BOS included)\n";

// -log softmax(logits)[target], computed stably in double.
double negative_log_likelihood(std::span<const float> logits, TokenId target) {
  double max_logit = logits[0];
  for (float logit : logits) max_logit = std::max<double>(max_logit, logit);
  double sum = 0.0;
  for (float logit : logits) sum += std::exp(static_cast<double>(logit) - max_logit);
  return std::log(sum) + max_logit - static_cast<double>(logits[static_cast<std::size_t>(target)]);
}

}  // namespace

int run_perplexity(Args args) {
  const Options options(args, {"--no-mmap", "--help", "-h"});
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

  const Model model = load_model_from_options(options);
  const Tokenizer& tokenizer = model.tokenizer();
  std::vector<TokenId> tokens = tokenizer.encode(buffer.str(), {.add_bos = true});
  const int max_tokens = options.get_int("--max-tokens", 0);
  if (max_tokens > 0 && tokens.size() > static_cast<std::size_t>(max_tokens)) tokens.resize(max_tokens);
  if (tokens.size() < 2) throw Error(ErrorCode::kInvalidArgument, "the text has too few tokens");

  SessionOptions session_options;
  session_options.n_threads = options.get_int("--threads", 0);
  session_options.n_ctx = options.get_int("-c", 0);
  Session session(model, session_options);
  const auto n_ctx = static_cast<std::size_t>(session.context_size());
  if (n_ctx < 2) throw Error(ErrorCode::kInvalidArgument, "-c must be at least 2");
  const auto n_vocab = static_cast<std::size_t>(model.config().n_vocab);
  const TokenId bos = tokenizer.bos_id();

  double total_nll = 0.0;
  std::size_t scored = 0;
  const TokenId first_token = bos >= 0 ? bos : tokens[0];
  auto report = [&] {
    std::fprintf(stderr, "\r%zu predictions scored, perplexity so far %.4f", scored,
                 std::exp(total_nll / static_cast<double>(std::max<std::size_t>(scored, 1))));
  };
  if (options.has("--all-positions")) {
    std::size_t next = 1;  // index of the next text token to predict (tokens[0] is BOS)
    while (next < tokens.size()) {
      std::vector<TokenId> window{first_token};
      const std::size_t count = std::min(n_ctx - 1, tokens.size() - next);
      window.insert(window.end(), tokens.begin() + static_cast<std::ptrdiff_t>(next),
                    tokens.begin() + static_cast<std::ptrdiff_t>(next + count));
      session.reset();
      const auto logits = session.decode_all_logits(window);
      for (std::size_t i = 0; i + 1 < window.size(); ++i) {
        total_nll += negative_log_likelihood(logits.subspan(i * n_vocab, n_vocab), window[i + 1]);
        ++scored;
      }
      next += count;
      report();
    }
  } else {
    const std::size_t n_chunks = tokens.size() / n_ctx;
    if (n_chunks == 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the text has " + std::to_string(tokens.size()) + " tokens, fewer than one chunk of " +
                      std::to_string(n_ctx) + " (use -c or --all-positions)");
    }
    for (std::size_t chunk = 0; chunk < n_chunks; ++chunk) {
      const auto begin = tokens.begin() + static_cast<std::ptrdiff_t>(chunk * n_ctx);
      std::vector<TokenId> window(begin, begin + static_cast<std::ptrdiff_t>(n_ctx));
      window[0] = first_token;
      session.reset();
      const auto logits = session.decode_all_logits(window);
      for (std::size_t j = n_ctx / 2; j + 1 < n_ctx; ++j) {
        total_nll += negative_log_likelihood(logits.subspan(j * n_vocab, n_vocab),
                                             tokens[chunk * n_ctx + j + 1]);
        ++scored;
      }
      report();
    }
  }
  std::fprintf(stderr, "\n");
  std::printf("perplexity: %.4f over %zu predicted tokens (%zu tokens with BOS, context %zu)\n",
              std::exp(total_nll / static_cast<double>(scored)), scored, tokens.size(), n_ctx);
  return 0;
}

}  // namespace llama3::cli
