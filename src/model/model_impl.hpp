// The inside of a Model: the mapped checkpoint, the configuration, and typed views of every weight.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "io/gguf.hpp"
#include "kernels/matmul.hpp"
#include "llama3/model.hpp"
#include "model/hf_checkpoint.hpp"
#include "model/meta_checkpoint.hpp"
#include "model/weight_source.hpp"

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

// The layers [first, last) a process binds: all of them normally; a pipeline stage's share
// (src/distributed), so that a process maps and packs only its own tensors. last = -1: up to the
// model's last layer.
struct LayerRange {
  int first = 0;
  int last = -1;
};
// Picks the range once the configuration is known (a pipeline splits by the model's layer count).
using LayerChooser = std::function<LayerRange(const ModelConfig&)>;

class ModelImpl {
 public:
  // A partial model (a LayerRange short of all layers) binds the token embedding only when it
  // holds layer 0 (or, tied, the output layer), and the output norm and layer only when it holds
  // the last layer; the other layers' weights stay empty.
  // An empty chooser binds every layer.
  ModelImpl(io::GgufFile gguf, const LoadOptions& options, const LayerChooser& choose_layers = {});
  ModelImpl(model::HfCheckpoint checkpoint, const LoadOptions& options,
            const LayerChooser& choose_layers = {});
  ModelImpl(model::MetaCheckpoint checkpoint, const LoadOptions& options,
            const LayerChooser& choose_layers = {});

  // The GGUF file the model came from; nullptr for a HF or Meta folder.
  const io::GgufFile* gguf() const { return gguf_ ? &*gguf_ : nullptr; }
  const std::string& origin() const { return weights_.origin(); }
  const model::WeightSource& weights() const { return weights_; }
  std::string metadata_string(const std::string& key) const;
  const GenerationDefaults& generation_defaults() const { return generation_defaults_; }

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

  // The layers whose weights are bound, [first_layer, last_layer); a partial model is not usable
  // by a Session or the engine, only by a pipeline stage.
  int first_layer() const { return layers_bound_.first; }
  int last_layer() const { return layers_bound_.last; }
  bool is_partial() const { return first_layer() != 0 || last_layer() != config_.n_layers; }
  bool has_embedding() const { return token_embedding_.data != nullptr; }
  bool has_output() const { return output_.data != nullptr; }

 private:
  // Resolves and checks the chosen range against config_ (kInvalidArgument when out of range).
  void set_layer_range(const LayerChooser& choose_layers);
  // Binds every weight from weights_ by its GGUF name; rope divisors come from rope_freqs.weight
  // or, when given, from the caller (a HF config's rope_scaling).
  void bind_weights(std::vector<float> rope_divisors);
  kernels::WeightMatrix bind_matrix(const std::string& name, std::size_t cols, std::size_t rows);
  std::vector<float> bind_vector(const std::string& name, std::size_t n);
  // Brings the mapped files' pages in (with progress), or packs the matrices when asked to.
  void finish_load(const LoadOptions& options,
                   const std::vector<std::shared_ptr<const io::MappedFile>>& files);
  // Copies every matrix into the kernels' packed layout; `mapped_files` are the file bytes that are
  // memory-mapped, whose pages may be given back once a matrix is packed.
  void pack_matrices(const LoadOptions& options,
                     const std::vector<std::span<const std::byte>>& mapped_files);

  std::optional<io::GgufFile> gguf_;
  std::optional<model::HfCheckpoint> hf_;
  std::optional<model::MetaCheckpoint> meta_;
  model::WeightSource weights_;
  std::unordered_map<std::string, std::string> hf_metadata_;
  GenerationDefaults generation_defaults_;
  ModelConfig config_;
  kernels::WeightMatrix token_embedding_;
  std::vector<LayerWeights> layers_;
  std::vector<float> output_norm_;
  kernels::WeightMatrix output_;
  std::vector<double> rope_inverse_frequencies_;
  LayerRange layers_bound_;
  std::optional<Tokenizer> tokenizer_;
  std::uint64_t n_params_ = 0;
  std::uint64_t weight_bytes_ = 0;
  std::vector<std::unique_ptr<kernels::PackedMatrix>>
      packed_;  // the kernels' copies of the matrices
};

// Loads only the layers `choose_layers` picks of a GGUF file or HF folder (see LayerRange).
Model load_model_layers(const std::filesystem::path& path, const LoadOptions& options,
                        const LayerChooser& choose_layers);

// The library's own view of a Model's inside, which the public header keeps private.
struct ModelAccess {
  static const ModelImpl& impl(const Model& model) { return *model.impl_; }
  static Model make(std::shared_ptr<const ModelImpl> impl) { return Model(std::move(impl)); }
  // Throws kInvalidArgument when `model` holds only some layers (a pipeline stage's share):
  // `user` (a Session, the engine) needs them all.
  static void require_whole(const Model& model, const char* user);
};

}  // namespace llama3::detail
