// Meta's consolidated.*.pth tensor names <-> GGUF names, and how model-parallel shards split each
// tensor (docs/meta-checkpoints.md "Shards").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llama3::model {

// "layers.3.attention.wq.weight" -> "blk.3.attn_q.weight"; nothing for a name that is not a Llama
// weight (Llama 2's rope.freqs, anything else).
std::optional<std::string> gguf_name_from_meta(std::string_view meta_name);
std::optional<std::string> meta_name_from_gguf(std::string_view gguf_name);

// The PyTorch dim along which Meta's model-parallel shards split a 2-D weight: row-parallel
// layers (wo, w2) split their input features, dim 1; column-parallel ones (wq, wk, wv, w1, w3,
// output) their output features, dim 0. The token embedding depends on the release (Llama 3's
// VocabParallelEmbedding splits the vocabulary, dim 0; Llama 2's ParallelEmbedding the embedding
// dim, dim 1), so the caller decides it from the shapes. 1-D norms are copied whole into every
// shard.
int meta_shard_dim(std::string_view gguf_name);

}  // namespace llama3::model
