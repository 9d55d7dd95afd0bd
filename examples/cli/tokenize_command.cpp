// `llama3 tokenize` and `llama3 detokenize`: text <-> token ids with a model's or a vocabulary
// file's tokenizer, for users and for scripted checks (one line of space-separated ids).
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "llama3/error.hpp"
#include "llama3/tokenizer.hpp"

namespace llama3::cli {
namespace {

struct TokenizerCommandOptions {
  std::string vocab_path;
  std::string input_file;
  std::vector<std::string> positional;
  bool bos = false;
  bool special = false;
  OutputFormat format = OutputFormat::kText;
};

// What tokenize and detokenize share: the vocabulary, -f and --special.
void declare_common(CLI::App& app, TokenizerCommandOptions& options, const char* special_help) {
  auto* model =
      app.add_option("-m,--model", options.vocab_path, "a GGUF model whose tokenizer to use")
          ->type_name("PATH");
  app.add_option("--vocab", options.vocab_path,
                 "a vocabulary instead: tokenizer.json, tokenizer.model or a vocab GGUF")
      ->type_name("PATH")
      ->excludes(model);
  app.add_flag("--special", options.special, special_help);
}

void require_vocabulary(const TokenizerCommandOptions& options) {
  if (options.vocab_path.empty()) throw UsageError("-m MODEL or --vocab FILE is required");
}

std::string read_input_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path + ": cannot open");
  std::ostringstream content;
  content << in.rdbuf();
  return std::move(content).str();
}

}  // namespace

int run_tokenize(Args args) {
  const auto app = make_command_app(
      "tokenize", "Print the token ids of a text on one line, separated by spaces.");
  TokenizerCommandOptions options;
  declare_common(*app, options,
                 "match special-token text such as <|eot_id|> (otherwise it is plain text)");
  app->add_flag("--bos", options.bos, "prepend <|begin_of_text|>");
  auto* file = app->add_option("-f,--file", options.input_file, "tokenize this file's bytes")
                   ->type_name("PATH");
  app->add_option("TEXT", options.positional, "the text to tokenize")
      ->type_name("TEXT")
      ->excludes(file);
  declare_output_format(*app, options.format,
                        {{"text", OutputFormat::kText}, {"json", OutputFormat::kJson}});
  app->footer("-o json prints {\"tokens\": [ids], \"pieces\": [the text of each], \"n_tokens\"}.");
  if (!parse_command_line(*app, args)) return 0;
  require_vocabulary(options);
  std::string text;
  if (!options.input_file.empty()) {
    text = read_input_file(options.input_file);
  } else if (options.positional.size() == 1) {
    text = options.positional[0];
  } else {
    throw UsageError("give one TEXT argument or -f FILE");
  }
  // Until the Model class exists, -m reads the tokenizer metadata straight from the model's GGUF.
  const Tokenizer tokenizer = Tokenizer::load(options.vocab_path);
  const auto ids =
      tokenizer.encode(text, {.add_bos = options.bos, .parse_special = options.special});
  if (options.format == OutputFormat::kJson) {
    std::vector<std::string> pieces;
    pieces.reserve(ids.size());
    for (TokenId id : ids) pieces.push_back(tokenizer.decode({&id, 1}, /*render_special=*/true));
    const nlohmann::json document = {{"tokens", ids}, {"pieces", pieces}, {"n_tokens", ids.size()}};
    // A piece may be part of a multi-byte character; such bytes are replaced, not fatal.
    std::printf("%s\n",
                document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::string line;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += std::to_string(ids[i]);
  }
  std::printf("%s\n", line.c_str());
  return 0;
}

int run_detokenize(Args args) {
  const auto app = make_command_app("detokenize", "Print the text of token ids.");
  TokenizerCommandOptions options;
  declare_common(*app, options, "render special tokens such as <|eot_id|> as their text");
  auto* file = app->add_option("-f,--file", options.input_file,
                               "read the ids from this file (separated by white space)")
                   ->type_name("PATH");
  app->add_option("IDS", options.positional, "the token ids")->excludes(file);
  if (!parse_command_line(*app, args)) return 0;
  require_vocabulary(options);
  std::string words;
  for (const auto& word : options.positional) words += word + " ";
  if (!options.input_file.empty()) words = read_input_file(options.input_file);
  const std::vector<TokenId> ids = parse_token_ids(words, "token ids");
  const Tokenizer tokenizer = Tokenizer::load(options.vocab_path);
  const std::string text = tokenizer.decode(ids, options.special);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace llama3::cli
