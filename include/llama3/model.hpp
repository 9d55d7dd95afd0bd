// Model: a loaded Llama-architecture model (weights + configuration + tokenizer). Immutable after
// load and safe to share between threads and sessions; copies share the same weights.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "llama3/tokenizer.hpp"

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

// Internal types stay hidden in the library (they are named here only as opaque pointers).
#pragma GCC visibility pop
namespace detail {
class ModelImpl;
struct ModelAccess;
}  // namespace detail
#pragma GCC visibility push(default)

// Which elements of a head RoPE rotates together. GGUF and Meta checkpoints keep q/k rows in Meta's
// order and rotate adjacent pairs (x[2i], x[2i+1]); Hugging Face checkpoints permute those rows so
// that the same rotation pairs (x[i], x[i + head_dim/2]) (docs/facts.md §4). Loading a HF folder
// keeps its weights as they are (zero-copy) and rotates half-split instead of un-permuting them.
enum class RopeLayout { kAdjacentPairs, kHalfSplit };

// Hyperparameters, read from the file's metadata (GGUF `llama.*` keys) or a HF config.json.
struct ModelConfig {
  std::string name;             // general.name, or the file name
  int n_vocab = 0;              // rows of the token embedding
  int dim = 0;                  // embedding_length
  int n_layers = 0;             // block_count
  int n_heads = 0;              // attention.head_count
  int n_kv_heads = 0;           // attention.head_count_kv (GQA); n_heads when absent
  int head_dim = 0;             // attention.key_length, or dim / n_heads
  int ffn_dim = 0;              // feed_forward_length
  int context_length = 0;       // the context the model was trained for
  float rope_theta = 10000.0f;  // rope.freq_base; 10000 (Llama 2 style) when absent
  float norm_eps = 1e-5f;       // attention.layer_norm_rms_epsilon
  bool tied_embeddings =
      false;                    // no output.weight: the token embedding doubles as the output layer
  bool has_rope_freqs = false;  // rope_freqs.weight present (Llama 3.1+ long-context scaling)
  RopeLayout rope_layout = RopeLayout::kAdjacentPairs;  // kHalfSplit for HF checkpoints
};

// The sampling a checkpoint recommends (a HF folder's generation_config.json); each field is empty
// when the checkpoint says nothing. GGUF files carry no such defaults.
// `default_sampler_params(model)` (sampler.hpp) turns them into SamplerParams.
struct GenerationDefaults {
  std::optional<float> temperature;  // 0 when generation_config.json has do_sample: false
  std::optional<float> top_p;
  std::optional<std::int32_t> top_k;
};

struct LoadOptions {
  // Map the file (weights are paged in as used) or read it into memory up front.
  bool use_mmap = true;
  // Copy every weight matrix into the kernels' packed layout in anonymous (huge-page) memory, and
  // drop the file's pages of the matrices from this process once copied (with use_mmap). The fast
  // kernels need it; without it every product runs the scalar reference.
  bool repack_weights = true;
  // Called with the fraction done (0..1) while the weights are brought in; return false to cancel
  // (load then throws Error kCancelled).
  std::function<bool(float fraction)> progress;
};

class Model {
 public:
  // Loads a GGUF file, or a Hugging Face checkpoint folder (config.json, model.safetensors or
  // sharded model-*.safetensors with model.safetensors.index.json, tokenizer.json, and optionally
  // generation_config.json and tokenizer_config.json). F32/F16/BF16 HF weights are used in place.
  // Throws llama3::Error (kIo, kBadFormat naming the file and key or tensor, kUnsupported).
  static Model load(const std::filesystem::path& path, const LoadOptions& options = {});

  const ModelConfig& config() const;
  // Whether the file carries a tokenizer (test models may have none).
  bool has_tokenizer() const;
  // Throws Error kInvalidArgument when the file has no tokenizer.
  const Tokenizer& tokenizer() const;
  // Metadata value as text (for keys such as "tokenizer.chat_template"), empty when absent. A HF
  // folder answers general.name and tokenizer.chat_template (from tokenizer_config.json).
  std::string metadata_string(const std::string& key) const;
  // The sampling the checkpoint recommends (see GenerationDefaults).
  const GenerationDefaults& generation_defaults() const;
  std::uint64_t n_params() const;
  std::uint64_t weight_bytes() const;

 private:
  friend struct detail::ModelAccess;  // the library's own view of the internals (src/model)
  explicit Model(std::shared_ptr<const detail::ModelImpl> impl);
  std::shared_ptr<const detail::ModelImpl> impl_;
};

}  // namespace llama3

#pragma GCC visibility pop
