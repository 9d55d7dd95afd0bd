// llama3 generate: text from a prompt, printed as it is produced, with speed figures at the end.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.hpp"
#include "generate_parallel.hpp"
#include "llama3/error.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "model_loading.hpp"
#include "safety_options.hpp"

namespace llama3::cli {
namespace {

constexpr const char* kHelp =
    "usage: llama3 generate [-m MODEL.gguf] [-p TEXT | -f FILE] [-n N] [--temp T] [--top-k K]\n"
    "                       [--top-p P] [--min-p P] [--seed S] [--threads N] [--ctx N]\n"
    "                       [--no-mmap] [--raw] [--dump-logits FILE]\n"
    "                       [--guard GUARD.gguf [--guard-version V] [--guard-threshold P]]\n"
    "                       [--scan-code] [--parallel N [--kv-tokens N]]\n"
    "  -m            model file (default: stories260K.gguf from the test data)\n"
    "  -p / -f       prompt text, or a file holding it (default: empty; BOS is added)\n"
    "  -n            tokens to generate at most (default 256)\n"
    "  --temp        temperature; 0 = greedy (default: the model's, see docs/cli.md)\n"
    "  --raw         treat special-token text in the prompt as plain text\n"
    "  --dump-logits write the float32 logits after the prompt to FILE (n_vocab values)\n"
    "  --guard       classify the prompt (block it) and the answer with this Llama Guard model\n"
    "  --scan-code   stop when the answer's code blocks hold insecure code (error findings)\n"
    "                (what the filters blocked or noted goes to stderr)\n"
    "  --parallel    with -f: one prompt per line, N at a time through the engine; each answer\n"
    "                is printed when complete, in order (--kv-tokens: its KV memory)\n";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read prompt file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int run_generate(Args args) {
  const Options options(args, {"--no-mmap", "--raw", "--scan-code", "--help", "-h"});
  if (options.has("--help") || options.has("-h")) {
    std::printf("%s", kHelp);
    return 0;
  }
  if (!options.positional().empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "unexpected argument '" + options.positional()[0] + "' (the prompt goes after -p)");
  }
  const Model model = load_model_from_options(options);
  if (options.get("--parallel")) {
    return run_generate_parallel(model, options, options.get_int("--parallel", 1));
  }
  SafetyFilters filters = load_safety_filters(options);
  const Tokenizer& tokenizer = model.tokenizer();
  const std::string prompt =
      options.get("-f") ? read_file(*options.get("-f")) : options.get_or("-p", "");

  Session session(model, session_options_from(options));
  Sampler sampler(sampler_params_from(options, model));

  EncodeOptions encode;
  encode.add_bos = true;
  encode.parse_special = !options.has("--raw");
  const std::vector<TokenId> prompt_tokens = tokenizer.encode(prompt, encode);

  if (const auto dump_path = options.get("--dump-logits")) {
    const auto logits = session.decode(prompt_tokens);
    std::ofstream out(*dump_path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(logits.data()),
              static_cast<std::streamsize>(logits.size_bytes()));
    if (!out) throw Error(ErrorCode::kIo, "cannot write " + *dump_path);
    session.reset();
  }

  std::printf("%s", prompt.c_str());
  std::fflush(stdout);
  GenerateOptions generate;
  generate.max_tokens = options.get_int("-n", 256);
  generate.on_piece = [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  };
  filters.apply(generate, prompt);
  const GenerateResult result = session.generate(prompt_tokens, sampler, generate);
  std::printf("\n");
  std::fflush(stdout);  // before the speed line on stderr, so the two never interleave
  report_filters(result);
  const auto rate = [](double n, double seconds) { return seconds > 0 ? n / seconds : 0.0; };
  std::fprintf(stderr,
               "prompt: %d tokens in %.3f s (%.2f tokens/s) | generation: %zu tokens in %.3f s "
               "(%.2f tokens/s) | stop: %s\n",
               result.n_prompt_tokens, result.prompt_seconds,
               rate(result.n_prompt_tokens, result.prompt_seconds), result.tokens.size(),
               result.generate_seconds,
               rate(static_cast<double>(result.tokens.size()), result.generate_seconds),
               stop_reason_name(result.stop_reason));
  return 0;
}

}  // namespace llama3::cli
