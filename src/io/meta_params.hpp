// Meta's params.json, the configuration beside consolidated.*.pth (docs/meta-checkpoints.md
// "params.json"). Throws llama3::Error kBadFormat "<file>: <key> ..." for invalid JSON, a missing
// required key or a value out of range.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llama3::io {

struct MetaParams {
  int dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;   // n_heads when absent
  int vocab_size = -1;  // -1 (Llama 2 wrote it so) or absent: the embedding's rows
  int multiple_of = 256;
  std::optional<double> ffn_dim_multiplier;
  double norm_eps = 1e-5;
  double rope_theta = 500000.0;
  bool use_scaled_rope = false;
  double rope_scaling_factor = 8.0;  // Llama 3.1's value; params.json may override it
  double rope_high_freq_factor = 4.0;
  std::optional<int> max_seq_len;
};

MetaParams parse_meta_params(std::string_view json, const std::string& origin);

// The FFN hidden size of Meta's reference FeedForward: h = int(2 * 4 * dim / 3), then
// h = int(ffn_dim_multiplier * h) when given, rounded up to a multiple of multiple_of.
// Throws kBadFormat when the result does not fit an int.
int meta_ffn_dim(const MetaParams& params, const std::string& origin);

}  // namespace llama3::io
