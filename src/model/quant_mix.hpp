// Which type each tensor gets when a model is quantized to a file type such as Q4_K_M (one place
// for make_test_model, `llama3 quantize` and `llama3 convert`).
//
// Rule (llama.cpp's llama_tensor_get_type for the _M mixes, simplified to what Llama 3 has):
//  - 1-D tensors (norms, rope_freqs) stay F32;
//  - Q4_K_M / Q5_K_M: output.weight (and token_embd.weight when it doubles as the output) is Q6_K;
//    attn_v and ffn_down are Q6_K in the first and last eighth of the layers and in every third
//    layer between (uses_more_bits), the base type (Q4_K / Q5_K) elsewhere;
//  - plain types: every matrix gets the type, except that a row length not a multiple of the
//    type's block falls back to F16 (llama.cpp falls back similarly).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "io/tensor_type.hpp"

namespace llama3::model {

struct QuantMix {
  std::string name;         // "q4_k_m", "q8_0", "f16", ...
  io::TensorType base;      // the type most matrices get
  bool more_bits_for_some;  // the _M rule above
  std::uint32_t file_type;  // general.file_type (docs/facts.md §4)
};

// "Q4_K_M", "q4_k_m", "q8_0", "bf16", ... -> the mix; nothing for an unknown name or a type the
// kernels do not run.
std::optional<QuantMix> quant_mix_from_name(std::string_view name);

// The _M rule's layer choice for attn_v / ffn_down.
bool uses_more_bits(int layer, int n_layers);

// The type of one tensor. `ne0` is its row length, `n_dims` its dimension count, `layer` its block
// index (-1 for tensors outside the blocks), `tied_output` whether token_embd doubles as output.
io::TensorType tensor_type_for(const QuantMix& mix, std::string_view gguf_name,
                               std::uint32_t n_dims, std::uint64_t ne0, int n_layers,
                               bool tied_output);

// The block index in "blk.N.*", or -1.
int layer_of(std::string_view gguf_name);

}  // namespace llama3::model
