// The tokenizer stored in a GGUF file's metadata (tokenizer.ggml.*), for Tokenizer::load and the
// Model loader. "gpt2" vocabularies with a Llama 3 pre-tokenizer (tokenizer.ggml.pre = llama-bpe,
// llama3 or llama-v3) become a Llama3BpeTokenizer; "llama" (SentencePiece) vocabularies go to the
// SentencePiece tokenizer. Anything else is llama3::Error kUnsupported naming the value; malformed
// metadata is kBadFormat naming the file and key.
#pragma once

#include <memory>

#include "io/gguf.hpp"
#include "tokenizer/tokenizer_impl.hpp"

namespace llama3::detail {

// Returns nullptr when the file has no tokenizer metadata at all.
std::shared_ptr<const TokenizerImpl> make_tokenizer_from_gguf(const io::GgufFile& file);

}  // namespace llama3::detail
