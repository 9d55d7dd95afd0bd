// Hugging Face Llama tensor names <-> GGUF names (docs/facts.md §4 "Tensor names").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace llama3::model {

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; nothing for a name that is not
// a Llama weight (rotary_emb.inv_freq, biases, anything else).
std::optional<std::string> gguf_name_from_hf(std::string_view hf_name);

// The inverse: "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"; nothing for a
// tensor HF checkpoints do not hold (rope_freqs.weight).
std::optional<std::string> hf_name_from_gguf(std::string_view gguf_name);

// Whether a GGUF tensor's rows are in HF's permuted q/k order when it comes from a HF checkpoint
// (attn_q and attn_k; docs/facts.md §4 "The Q/K permutation").
bool is_hf_permuted(std::string_view gguf_name);

// HF's q/k row permutation within each head of head_dim rows: Meta row 2j + p (p = 0, 1) is HF
// row p * head_dim/2 + j. transformers' converter applies it; llama.cpp's undoes it.
std::size_t hf_row_of_meta_row(std::size_t meta_row, std::size_t head_dim);
std::size_t meta_row_of_hf_row(std::size_t hf_row, std::size_t head_dim);

}  // namespace llama3::model
