#include "tokenizer/gguf_token_fields.hpp"

#include <string>

#include "llama3/error.hpp"

namespace llama3::detail {
namespace {

[[noreturn]] void bad(const io::GgufFile& gguf, std::string_view key, const std::string& why) {
  throw Error(ErrorCode::kBadFormat, gguf.name() + ": " + std::string(key) + " " + why);
}

}  // namespace

std::vector<TokenKind> read_token_kinds(const io::GgufFile& gguf, std::size_t n_tokens) {
  constexpr std::string_view kKey = "tokenizer.ggml.token_type";
  const io::GgufValue* types = gguf.find(kKey);
  if (!types) return std::vector<TokenKind>(n_tokens, TokenKind::kNormal);
  const auto values = types->ints(kKey);
  if (values.size() != n_tokens) {
    bad(gguf, kKey,
        "has " + std::to_string(values.size()) + " entries for " + std::to_string(n_tokens) +
            " tokens");
  }
  std::vector<TokenKind> kinds;
  kinds.reserve(n_tokens);
  for (std::size_t i = 0; i < n_tokens; ++i) {
    switch (values[i]) {
      case 0:  // undefined: llama.cpp treats it as a normal token
      case 1:
        kinds.push_back(TokenKind::kNormal);
        break;
      case 2:
        kinds.push_back(TokenKind::kUnknown);
        break;
      case 3:
        kinds.push_back(TokenKind::kControl);
        break;
      case 4:
        kinds.push_back(TokenKind::kUserDefined);
        break;
      case 5:
        kinds.push_back(TokenKind::kUnused);
        break;
      case 6:
        kinds.push_back(TokenKind::kByte);
        break;
      default: {
        // Built piecewise: g++ 12 warns falsely (-Wrestrict) on one long concatenation here.
        std::string why = "[";
        why += std::to_string(i);
        why += "] is ";
        why += std::to_string(values[i]);
        why += ", not a token type (0..6)";
        bad(gguf, kKey, why);
      }
    }
  }
  return kinds;
}

TokenId read_token_id(const io::GgufFile& gguf, std::string_view key, TokenId fallback,
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

}  // namespace llama3::detail
