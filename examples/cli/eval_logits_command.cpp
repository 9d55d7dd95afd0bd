// llama3 eval-logits: the logits of every position of a token list, as raw float32, for scripted
// checks (the NumPy reference tests compare against these).
#include <cstdio>
#include <fstream>
#include <sstream>

#include "command_line.hpp"
#include "commands.hpp"
#include "common_options.hpp"
#include "llama3/error.hpp"
#include "llama3/session.hpp"

namespace llama3::cli {
namespace {

struct EvalLogitsOptions {
  ModelOptions model;
  LoraOptions lora;
  std::string token_list;
  std::string out_path;
  int n_threads = 0;
  bool one_by_one = false;
  bool f32_cache = false;
};

void declare(CLI::App& app, EvalLogitsOptions& options) {
  options.model.declare(app);
  options.lora.declare(app);
  app.add_option("--tokens", options.token_list, "the token ids, separated by spaces")
      ->type_name("\"ID ID ...\"")
      ->required();
  app.add_option("-o,--output", options.out_path,
                 "write float32 logits [n_tokens, n_vocab] to this file")
      ->type_name("PATH")
      ->required();
  declare_threads(app, options.n_threads);
  app.add_flag("--one-by-one", options.one_by_one,
               "decode the tokens one at a time instead of as one batch");
  app.add_flag("--f32-cache", options.f32_cache, "keep the KV cache in f32 instead of f16");
}

}  // namespace

int run_eval_logits(Args args) {
  const auto app = make_command_app("eval-logits",
                                    "Write the float32 logits of every position of a token list.");
  EvalLogitsOptions options;
  declare(*app, options);
  if (!parse_command_line(*app, args)) return 0;

  const std::vector<TokenId> tokens = parse_token_ids(options.token_list, "--tokens");
  if (tokens.empty()) throw UsageError("--tokens is empty");

  const Model model = options.model.load();
  SessionOptions session_options;
  session_options.n_threads = clamp_threads(options.n_threads);
  session_options.n_ctx = static_cast<int>(tokens.size());
  if (options.f32_cache) session_options.kv_cache_type = KvCacheType::kF32;
  session_options.adapters = options.lora.load(model);
  Session session(model, session_options);

  std::vector<float> all;
  if (options.one_by_one) {
    for (TokenId id : tokens) {
      const auto logits = session.decode(std::span<const TokenId>(&id, 1));
      all.insert(all.end(), logits.begin(), logits.end());
    }
  } else {
    const auto logits = session.decode_all_logits(tokens);
    all.assign(logits.begin(), logits.end());
  }
  const std::string& out_path = options.out_path;
  std::ofstream out(out_path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(all.data()),
            static_cast<std::streamsize>(all.size() * sizeof(float)));
  if (!out) throw Error(ErrorCode::kIo, "cannot write " + out_path);
  std::printf("wrote %zu x %d logits to %s\n", tokens.size(), model.config().n_vocab,
              out_path.c_str());
  return 0;
}

}  // namespace llama3::cli
