// A Hugging Face (or Meta) folder's tokenizer as GGUF metadata in llama.cpp's form: the gpt2 model
// with the llama-bpe pre-tokenizer, tokens in byte-level spelling, token types, merges, bos/eos
// (eos from tokenizer_config.json when it names one, as instruct models do) and the chat template.
#pragma once

#include "io/gguf.hpp"
#include "model/hf_checkpoint.hpp"
#include "model/meta_checkpoint.hpp"

namespace llama3::convert {

// `checkpoint.tokenizer` must be set.
void write_tokenizer_metadata(io::GgufWriter& writer, const model::HfCheckpoint& checkpoint);
// A Meta folder's tokenizer.model: the same keys, with the merges its ranks imply
// (tokenizer/merge_order.hpp) and no chat template. `checkpoint.tokenizer` must be set.
void write_tokenizer_metadata(io::GgufWriter& writer, const model::MetaCheckpoint& checkpoint);

}  // namespace llama3::convert
