// Loaders for the Llama 3 vocabulary files other than GGUF (see gguf_vocab.hpp). Each throws
// llama3::Error: kIo when the file cannot be read, kBadFormat (naming the file and the field or
// line) when it is malformed, kUnsupported when it is well-formed but not a Llama 3 BPE vocabulary.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/llama3_bpe.hpp"

namespace llama3::detail {

// Hugging Face tokenizer.json: model.vocab (byte-level text -> id), model.merges (required, and
// checked to follow the id order, which our BPE uses as ranks: merge_order.hpp), added_tokens
// (special -> control, else user-defined), and a pre_tokenizer Split pattern, which must be Llama
// 3's.
std::shared_ptr<const Llama3BpeTokenizer> parse_tokenizer_json(std::string_view json,
                                                               const std::string& origin);
// The same file as a spec, for a caller that adds what the file lacks (a HF checkpoint's bos/eos
// ids from config.json) before make_llama3_bpe.
Llama3VocabSpec tokenizer_json_spec(std::string_view json, const std::string& origin);
// model.merges as "left right" strings in list order (newer files write [left, right] pairs), as
// GGUF's tokenizer.ggml.merges stores them.
std::vector<std::string> tokenizer_json_merges(std::string_view json, const std::string& origin);

// Meta's tokenizer.model: one "<base64 bytes> <rank>" line per token; the 256 special tokens follow
// the ranks with the Llama 3.1+ names.
std::shared_ptr<const Llama3BpeTokenizer> parse_tiktoken_model(std::string_view text,
                                                               const std::string& origin);

// The Llama 3 split pattern, as tokenizer.json, Meta and llama.cpp spell it.
extern const std::string_view kLlama3SplitPattern;

}  // namespace llama3::detail
