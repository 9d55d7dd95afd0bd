// llama3 eval-logits: the logits of every position of a token list, as raw float32, for scripted
// checks (the NumPy reference tests compare against these).
#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.hpp"
#include "llama3/error.hpp"
#include "llama3/session.hpp"
#include "model_loading.hpp"

namespace llama3::cli {

int run_eval_logits(Args args) {
  const Options options(args, {"--no-mmap", "--one-by-one", "--f32-cache", "--help", "-h"});
  if (options.has("--help") || options.has("-h") || !options.get("--tokens") ||
      !options.get("-o")) {
    std::printf(
        "usage: llama3 eval-logits -m MODEL.gguf --tokens \"ID ID ...\" -o OUT.f32 [--threads N]\n"
        "                          [--one-by-one] [--f32-cache]\n"
        "  Writes float32 logits [n_tokens, n_vocab] for every position. --one-by-one decodes the\n"
        "  tokens one at a time instead of as one batch.\n");
    return options.has("--help") || options.has("-h") ? 0 : 2;
  }
  std::vector<TokenId> tokens;
  std::istringstream ids(*options.get("--tokens"));
  for (std::string word; ids >> word;) {
    try {
      tokens.push_back(static_cast<TokenId>(std::stol(word)));
    } catch (const std::exception&) {
      throw Error(ErrorCode::kInvalidArgument, "--tokens: '" + word + "' is not a token id");
    }
  }
  if (tokens.empty()) throw Error(ErrorCode::kInvalidArgument, "--tokens is empty");

  const Model model = load_model_from_options(options);
  SessionOptions session_options;
  session_options.n_threads = options.get_int("--threads", 0);
  session_options.n_ctx = static_cast<int>(tokens.size());
  if (options.has("--f32-cache")) session_options.kv_cache_type = KvCacheType::kF32;
  Session session(model, session_options);

  std::vector<float> all;
  if (options.has("--one-by-one")) {
    for (TokenId id : tokens) {
      const auto logits = session.decode(std::span<const TokenId>(&id, 1));
      all.insert(all.end(), logits.begin(), logits.end());
    }
  } else {
    const auto logits = session.decode_all_logits(tokens);
    all.assign(logits.begin(), logits.end());
  }
  const std::string out_path = *options.get("-o");
  std::ofstream out(out_path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(all.data()),
            static_cast<std::streamsize>(all.size() * sizeof(float)));
  if (!out) throw Error(ErrorCode::kIo, "cannot write " + out_path);
  std::printf("wrote %zu x %d logits to %s\n", tokens.size(), model.config().n_vocab,
              out_path.c_str());
  return 0;
}

}  // namespace llama3::cli
