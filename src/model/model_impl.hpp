// The inside of a Model: the mapped file, the configuration, and typed views of every weight.
#pragma once

#include <optional>
#include <vector>

#include "io/gguf.hpp"
#include "kernels/matmul.hpp"
#include "llama3/model.hpp"

namespace llama3::detail {

struct LayerWeights {
  std::vector<float> attn_norm;       // [dim]
  kernels::WeightMatrix attn_q;       // [n_heads * head_dim, dim]
  kernels::WeightMatrix attn_k;       // [n_kv_heads * head_dim, dim]
  kernels::WeightMatrix attn_v;       // [n_kv_heads * head_dim, dim]
  kernels::WeightMatrix attn_output;  // [dim, n_heads * head_dim]
  std::vector<float> ffn_norm;        // [dim]
  kernels::WeightMatrix ffn_gate;     // [ffn_dim, dim]
  kernels::WeightMatrix ffn_up;       // [ffn_dim, dim]
  kernels::WeightMatrix ffn_down;     // [dim, ffn_dim]
};

class ModelImpl {
 public:
  ModelImpl(io::GgufFile gguf, const LoadOptions& options);

  const io::GgufFile& gguf() const { return gguf_; }
  const ModelConfig& config() const { return config_; }
  const kernels::WeightMatrix& token_embedding() const {
    return token_embedding_;
  }  // [n_vocab, dim]
  const std::vector<LayerWeights>& layers() const { return layers_; }
  const std::vector<float>& output_norm() const { return output_norm_; }  // [dim]
  // The output layer [n_vocab, dim]; the token embedding itself when the file ties them.
  const kernels::WeightMatrix& output() const { return output_; }
  // theta^(-2i/head_dim) / rope_freqs[i]  [head_dim / 2]
  const std::vector<double>& rope_inverse_frequencies() const { return rope_inverse_frequencies_; }
  const std::optional<Tokenizer>& tokenizer() const { return tokenizer_; }
  std::uint64_t n_params() const { return n_params_; }
  std::uint64_t weight_bytes() const { return weight_bytes_; }

 private:
  kernels::WeightMatrix bind_matrix(const std::string& name, std::size_t cols, std::size_t rows);
  std::vector<float> bind_vector(const std::string& name, std::size_t n);
  void pack_matrices(const LoadOptions& options);

  io::GgufFile gguf_;
  ModelConfig config_;
  kernels::WeightMatrix token_embedding_;
  std::vector<LayerWeights> layers_;
  std::vector<float> output_norm_;
  kernels::WeightMatrix output_;
  std::vector<double> rope_inverse_frequencies_;
  std::optional<Tokenizer> tokenizer_;
  std::uint64_t n_params_ = 0;
  std::uint64_t weight_bytes_ = 0;
  std::vector<std::unique_ptr<kernels::PackedMatrix>>
      packed_;  // the kernels' copies of the matrices
};

}  // namespace llama3::detail
