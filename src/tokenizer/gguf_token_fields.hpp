// Reading the per-token fields every GGUF vocabulary shares (token types, special token ids),
// validated the same way for the BPE and the SentencePiece loaders.
#pragma once

#include <string_view>
#include <vector>

#include "io/gguf.hpp"
#include "llama3/tokenizer.hpp"

namespace llama3::detail {

// tokenizer.ggml.token_type as kinds, one per token (all normal when the key is absent). Type 0
// ("undefined") reads as normal, as llama.cpp does. Throws kBadFormat for a wrong count or a type
// outside 0..6.
std::vector<TokenKind> read_token_kinds(const io::GgufFile& gguf, std::size_t n_tokens);

// An optional token id key: absent -> fallback; -1 (or its u32 form) -> -1, meaning none; otherwise
// it must name one of the n_tokens tokens (kBadFormat naming the key when not).
TokenId read_token_id(const io::GgufFile& gguf, std::string_view key, TokenId fallback,
                      std::size_t n_tokens);

}  // namespace llama3::detail
