// `llama3 tokenize` and `llama3 detokenize`: text <-> token ids with a model's or a vocabulary
// file's tokenizer, for users and for scripted checks (one line of space-separated ids).
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "llama3/error.hpp"
#include "llama3/tokenizer.hpp"

namespace llama3::cli {
namespace {

constexpr const char* kTokenizeUsage =
    "usage: llama3 tokenize (-m MODEL.gguf | --vocab tokenizer.json|tokenizer.model|vocab.gguf)\n"
    "                       [--bos] [--special] (TEXT | -f FILE)\n"
    "  prints the token ids of TEXT (or of FILE's bytes) on one line, separated by spaces\n"
    "  --bos      prepend <|begin_of_text|>\n"
    "  --special  match special-token text such as <|eot_id|> (otherwise it is plain text)\n";
constexpr const char* kDetokenizeUsage =
    "usage: llama3 detokenize (-m MODEL.gguf | --vocab FILE) [--special] (IDS... | -f FILE)\n"
    "  prints the text of the token ids (FILE holds ids separated by white space)\n"
    "  --special  render special tokens such as <|eot_id|> as their text\n";

struct Options {
  std::string vocab_path;
  std::string input_file;
  std::vector<std::string> positional;
  bool bos = false;
  bool special = false;
  bool help = false;
};

Options parse(Args args, const char* usage) {
  Options options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) {
        throw Error(ErrorCode::kInvalidArgument, arg + " needs a value\n" + usage);
      }
      return args[++i];
    };
    if (arg == "-m" || arg == "--model" || arg == "--vocab") {
      options.vocab_path = value();
    } else if (arg == "-f" || arg == "--file") {
      options.input_file = value();
    } else if (arg == "--bos") {
      options.bos = true;
    } else if (arg == "--special") {
      options.special = true;
    } else if (arg == "-h" || arg == "--help") {
      options.help = true;
    } else if (arg == "--") {
      options.positional.insert(options.positional.end(), args.begin() + static_cast<long>(i) + 1,
                                args.end());
      break;
    } else if (arg.size() > 1 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9')) {
      throw Error(ErrorCode::kInvalidArgument, "unknown option " + arg + "\n" + usage);
    } else {
      options.positional.push_back(arg);
    }
  }
  if (!options.help && options.vocab_path.empty()) {
    throw Error(ErrorCode::kInvalidArgument, std::string("-m or --vocab is required\n") + usage);
  }
  return options;
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
  const Options options = parse(args, kTokenizeUsage);
  if (options.help) {
    std::fputs(kTokenizeUsage, stdout);
    return 0;
  }
  std::string text;
  if (!options.input_file.empty()) {
    if (!options.positional.empty())
      throw Error(ErrorCode::kInvalidArgument, "give TEXT or -f FILE, not both");
    text = read_input_file(options.input_file);
  } else if (options.positional.size() == 1) {
    text = options.positional[0];
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("give one TEXT argument or -f FILE\n") + kTokenizeUsage);
  }
  // Until the Model class exists, -m reads the tokenizer metadata straight from the model's GGUF.
  const Tokenizer tokenizer = Tokenizer::load(options.vocab_path);
  const auto ids =
      tokenizer.encode(text, {.add_bos = options.bos, .parse_special = options.special});
  std::string line;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += std::to_string(ids[i]);
  }
  std::printf("%s\n", line.c_str());
  return 0;
}

int run_detokenize(Args args) {
  const Options options = parse(args, kDetokenizeUsage);
  if (options.help) {
    std::fputs(kDetokenizeUsage, stdout);
    return 0;
  }
  std::vector<std::string> words = options.positional;
  if (!options.input_file.empty()) {
    std::istringstream in(read_input_file(options.input_file));
    for (std::string word; in >> word;) words.push_back(word);
  }
  std::vector<TokenId> ids;
  for (const auto& word : words) {
    std::size_t used = 0;
    long value = 0;
    try {
      value = std::stol(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || value < 0 || value > INT32_MAX) {
      throw Error(ErrorCode::kInvalidArgument, "'" + word + "' is not a token id");
    }
    ids.push_back(static_cast<TokenId>(value));
  }
  const Tokenizer tokenizer = Tokenizer::load(options.vocab_path);
  const std::string text = tokenizer.decode(ids, options.special);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace llama3::cli
