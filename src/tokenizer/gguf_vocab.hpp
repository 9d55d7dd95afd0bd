// The tokenizer stored in a GGUF file's `tokenizer.ggml.*` metadata.
#pragma once

#include <memory>

#include "io/gguf.hpp"
#include "tokenizer/tokenizer_impl.hpp"

namespace llama3::detail {

// Builds the tokenizer a GGUF file describes: `tokenizer.ggml.model` "gpt2" (Llama 3 BPE) or "llama"
// (SentencePiece). Returns nullptr when the file has no tokenizer metadata at all; throws Error
// (kBadFormat naming the key, or kUnsupported for another tokenizer model/pre-tokenizer) otherwise.
std::shared_ptr<const TokenizerImpl> make_tokenizer_from_gguf(const io::GgufFile& gguf);

}  // namespace llama3::detail
