// Reads a SentencePiece-style vocabulary from GGUF tokenizer.ggml.* metadata (FACTS.md §2).
// Optional keys take llama.cpp's defaults for its SPM vocabularies: scores 0, token types normal,
// bos 1, eos 2, unknown 0, add_bos_token true, add_space_prefix true.
#include <optional>
#include <string>

#include "io/gguf.hpp"
#include "llama3/error.hpp"
#include "tokenizer/sentencepiece.hpp"

namespace llama3::detail {
namespace {

[[noreturn]] void bad(const io::GgufFile& gguf, std::string_view key, const std::string& why) {
  throw Error(ErrorCode::kBadFormat, gguf.name() + ": " + std::string(key) + " " + why);
}

// An optional token id key: absent -> fallback; present -> must name a token.
TokenId read_id(const io::GgufFile& gguf, std::string_view key, TokenId fallback,
                std::size_t n_tokens) {
  const io::GgufValue* value = gguf.find(key);
  if (!value) return fallback;
  const std::int64_t id = value->as_int(key);
  // Some converters write -1 (or its u32 form) for "none".
  if (id == -1 || id == 0xFFFFFFFFLL) return -1;
  if (id < 0 || static_cast<std::uint64_t>(id) >= n_tokens) {
    bad(gguf, key,
        "is " + std::to_string(id) + ", outside the vocabulary of " + std::to_string(n_tokens));
  }
  return static_cast<TokenId>(id);
}

bool read_bool(const io::GgufFile& gguf, std::string_view key, bool fallback) {
  const io::GgufValue* value = gguf.find(key);
  return value ? value->as_bool(key) : fallback;
}

TokenKind kind_from_gguf(std::int64_t type, const io::GgufFile& gguf, std::size_t index) {
  switch (type) {
    case 0:  // undefined: llama.cpp treats it as a normal token
    case 1:
      return TokenKind::kNormal;
    case 2:
      return TokenKind::kUnknown;
    case 3:
      return TokenKind::kControl;
    case 4:
      return TokenKind::kUserDefined;
    case 5:
      return TokenKind::kUnused;
    case 6:
      return TokenKind::kByte;
    default:
      bad(gguf, "tokenizer.ggml.token_type",
          "[" + std::to_string(index) + "] is " + std::to_string(type) +
              ", not a token type (0..6)");
  }
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
  if (const io::GgufValue* types = gguf.find("tokenizer.ggml.token_type")) {
    const auto values = types->ints("tokenizer.ggml.token_type");
    if (values.size() != n) {
      bad(gguf, "tokenizer.ggml.token_type",
          "has " + std::to_string(values.size()) + " entries for " + std::to_string(n) + " tokens");
    }
    vocab.kinds.reserve(n);
    for (std::size_t i = 0; i < n; ++i) vocab.kinds.push_back(kind_from_gguf(values[i], gguf, i));
  }

  vocab.bos = read_id(gguf, "tokenizer.ggml.bos_token_id", 1, n);
  vocab.eos = read_id(gguf, "tokenizer.ggml.eos_token_id", 2, n);
  vocab.unknown = read_id(gguf, "tokenizer.ggml.unknown_token_id", 0, n);
  read_id(gguf, "tokenizer.ggml.padding_token_id", -1,
          n);  // validated; decoding needs nothing from it
  for (std::string_view key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    const TokenId id = read_id(gguf, key, -1, n);
    if (id >= 0) vocab.extra_end_of_generation.push_back(id);
  }
  vocab.add_bos = read_bool(gguf, "tokenizer.ggml.add_bos_token", true);
  vocab.add_space_prefix = read_bool(gguf, "tokenizer.ggml.add_space_prefix", true);
  return std::make_shared<SentencePieceTokenizer>(std::move(vocab));
}

}  // namespace llama3::detail
