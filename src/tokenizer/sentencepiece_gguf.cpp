// Reads a SentencePiece-style vocabulary from GGUF tokenizer.ggml.* metadata (docs/facts.md §2).
// Optional keys take llama.cpp's defaults for its SPM vocabularies: scores 0, token types normal,
// bos 1, eos 2, unknown 0, add_bos_token true, add_space_prefix true.
#include <optional>
#include <string>

#include "io/gguf.hpp"
#include "llama3/error.hpp"
#include "tokenizer/gguf_token_fields.hpp"
#include "tokenizer/sentencepiece.hpp"

namespace llama3::detail {
namespace {

[[noreturn]] void bad(const io::GgufFile& gguf, std::string_view key, const std::string& why) {
  throw Error(ErrorCode::kBadFormat, gguf.name() + ": " + std::string(key) + " " + why);
}

bool read_bool(const io::GgufFile& gguf, std::string_view key, bool fallback) {
  const io::GgufValue* value = gguf.find(key);
  return value ? value->as_bool(key) : fallback;
}

}  // namespace

std::shared_ptr<const TokenizerImpl> make_sentencepiece_from_gguf(const io::GgufFile& gguf) {
  if (const io::GgufValue* model = gguf.find("tokenizer.ggml.model")) {
    const std::string_view name = model->as_string("tokenizer.ggml.model");
    if (name != "llama")
      bad(gguf, "tokenizer.ggml.model", "is \"" + std::string(name) + "\", not \"llama\"");
  }

  SentencePieceVocab vocab;
  const auto& tokens = gguf.get("tokenizer.ggml.tokens").strings("tokenizer.ggml.tokens");
  if (tokens.empty()) bad(gguf, "tokenizer.ggml.tokens", "is empty");
  const std::size_t n = tokens.size();
  vocab.tokens.assign(tokens.begin(), tokens.end());

  if (const io::GgufValue* scores = gguf.find("tokenizer.ggml.scores")) {
    vocab.scores = scores->floats("tokenizer.ggml.scores");
    if (vocab.scores.size() != n) {
      bad(gguf, "tokenizer.ggml.scores",
          "has " + std::to_string(vocab.scores.size()) + " entries for " + std::to_string(n) +
              " tokens");
    }
  }
  vocab.kinds = read_token_kinds(gguf, n);

  vocab.bos = read_token_id(gguf, "tokenizer.ggml.bos_token_id", 1, n);
  vocab.eos = read_token_id(gguf, "tokenizer.ggml.eos_token_id", 2, n);
  vocab.unknown = read_token_id(gguf, "tokenizer.ggml.unknown_token_id", 0, n);
  read_token_id(gguf, "tokenizer.ggml.padding_token_id", -1,
                n);  // validated; decoding needs nothing from it
  for (std::string_view key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    const TokenId id = read_token_id(gguf, key, -1, n);
    if (id >= 0) vocab.extra_end_of_generation.push_back(id);
  }
  vocab.add_bos = read_bool(gguf, "tokenizer.ggml.add_bos_token", true);
  vocab.add_space_prefix = read_bool(gguf, "tokenizer.ggml.add_space_prefix", true);
  return std::make_shared<SentencePieceTokenizer>(std::move(vocab));
}

}  // namespace llama3::detail
