// The tensors a Llama model of a given ModelConfig holds, with their shapes, and the check that a
// checkpoint's weights are exactly those: every expected tensor present with its shape, and no
// block beyond the configured count. Model loading and convert both run it before any work, so a
// config that disagrees with its weights fails at once, naming the tensor and both shapes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llama3/model.hpp"
#include "model/weight_source.hpp"

namespace llama3::model {

struct ExpectedTensor {
  std::string name;               // GGUF spelling
  std::vector<std::uint64_t> ne;  // innermost first, as GGUF stores dims
};

// In llama.cpp's order: token_embd, then per block attn_norm, attn_q, attn_k, attn_v, attn_output,
// ffn_norm, ffn_gate, ffn_up, ffn_down, then output_norm and (untied) output. rope_freqs.weight is
// not listed: it comes from the file or the config's rope scaling.
std::vector<ExpectedTensor> expected_tensors(const ModelConfig& config);

// Names the config's keys in messages: "llama.block_count" for GGUF, "num_hidden_layers" for a
// config.json.
struct ConfigSpelling {
  std::string origin;       // the file that holds the config
  std::string config_name;  // "the metadata", "config.json"
  std::string block_count_key;
  bool hugging_face = false;  // HF tensor names, shapes outermost first (as safetensors)
};

// Throws kBadFormat: "m.gguf: llama.block_count = 2 but the weights have tensors for 4 blocks",
// or "DIR: model.layers.0.mlp.up_proj.weight: config.json gives shape [512, 256], the weights have
// [384, 256]".
void check_weights_match_config(const WeightSource& weights, const ModelConfig& config,
                                const ConfigSpelling& spelling);

}  // namespace llama3::model
