// ModelConfig from GGUF metadata (docs/facts.md §4 "llama architecture keys"), validated for
// consistency.
#pragma once

#include "io/gguf.hpp"
#include "llama3/model.hpp"

namespace llama3::model {

// Reads the llama.* keys. Throws Error kUnsupported for another architecture and kBadFormat (naming
// the key) for missing or inconsistent values. n_vocab and tied_embeddings/has_rope_freqs come from
// the tensors, so they are checked against the keys here too.
ModelConfig config_from_gguf(const io::GgufFile& gguf);

}  // namespace llama3::model
