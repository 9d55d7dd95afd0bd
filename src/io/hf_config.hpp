// Hugging Face checkpoint configuration files (docs/facts.md §1, §5): config.json,
// generation_config.json and the chat template of tokenizer_config.json, read into plain structs.
// Every field is checked for type and range here; a malformed value is llama3::Error kBadFormat
// "<file>: <key>: <what>", a well-formed but foreign one (another architecture, another rope
// scaling) kUnsupported.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llama3::io {

// rope_scaling (or the newer rope_parameters) of type "llama3".
struct HfLlama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192.0;
};

struct HfConfig {
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;  // num_attention_heads when absent
  int head_dim = 0;             // hidden_size / num_attention_heads when absent
  int max_position_embeddings = 0;
  int vocab_size = 0;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  std::optional<HfLlama3RopeScaling> rope_scaling;  // none: plain RoPE
  bool tie_word_embeddings = false;
  std::vector<int> bos_token_ids;  // bos_token_id: an int or a list
  std::vector<int> eos_token_ids;  // eos_token_id: an int or a list
};

struct HfGenerationConfig {
  std::optional<bool> do_sample;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int> top_k;
  std::vector<int> eos_token_ids;
};

// `origin` names the file in errors. Accepts model_type "llama" (or absent) only.
HfConfig parse_hf_config(std::string_view json, const std::string& origin);
HfGenerationConfig parse_hf_generation_config(std::string_view json, const std::string& origin);
// The chat_template string of tokenizer_config.json (nothing when absent or not a string, e.g. a
// list of named templates).
std::optional<std::string> parse_hf_chat_template(std::string_view json, const std::string& origin);

}  // namespace llama3::io
