#include "distributed/fingerprint.hpp"

#include <cstring>
#include <string_view>
#include <type_traits>

namespace llama3::distributed {
namespace {

// FNV-1a, 64 bits: a fingerprint against mistakes, not against an adversary.
class Hasher {
 public:
  void bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      state_ ^= p[i];
      state_ *= 0x100000001b3ULL;
    }
  }
  template <class T>
  void value(T v) {
    static_assert(std::is_arithmetic_v<T> || std::is_enum_v<T>);
    bytes(&v, sizeof v);
  }
  void text(std::string_view s) {
    value(s.size());
    bytes(s.data(), s.size());
  }
  std::uint64_t result() const { return state_; }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

}  // namespace

Fingerprint fingerprint(const detail::ModelImpl& model, const PipelineOptions& options,
                        int n_ranks) {
  Fingerprint print;
  print.loaded = 1;

  const ModelConfig& c = model.config();
  Hasher config;
  config.text(c.name);
  for (int v : {c.n_vocab, c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.ffn_dim,
                c.context_length}) {
    config.value(v);
  }
  config.value(c.rope_theta);
  config.value(c.norm_eps);
  config.value(c.tied_embeddings);
  config.value(c.has_rope_freqs);
  config.value(c.rope_layout);
  print.config = config.result();

  if (model.tokenizer()) {
    const Tokenizer& tokenizer = *model.tokenizer();
    Hasher vocab;
    vocab.value(tokenizer.vocab_size());
    vocab.value(tokenizer.bos_id());
    vocab.value(tokenizer.eos_id());
    for (std::size_t id = 0; id < tokenizer.vocab_size(); ++id) {
      const auto token = static_cast<TokenId>(id);
      vocab.text(tokenizer.piece(token, /*render_special=*/true));
      vocab.value(tokenizer.kind(token));
    }
    for (TokenId id : tokenizer.end_of_generation_ids()) vocab.value(id);
    print.tokenizer = vocab.result();
  }

  Hasher tensors;
  for (const auto& tensor : model.weights().tensors()) {
    tensors.text(tensor.name);
    tensors.value(tensor.type);
    tensors.value(tensor.n_dims);
    for (auto extent : tensor.ne) tensors.value(extent);
    tensors.value(tensor.n_bytes);
  }
  print.tensors = tensors.result();

  Hasher run;
  run.value(options.session.n_ctx);
  run.value(options.session.kv_cache_type);
  run.value(n_ranks);
  run.value(options.split.size());
  for (double share : options.split) run.value(share);
  print.options = run.result();
  return print;
}

std::string describe_disagreement(std::span<const Fingerprint> by_rank) {
  for (std::size_t r = 0; r < by_rank.size(); ++r) {
    if (!by_rank[r].loaded) return "rank " + std::to_string(r) + " could not load its layers";
  }
  const Fingerprint& root = by_rank.front();
  for (std::size_t r = 1; r < by_rank.size(); ++r) {
    const Fingerprint& other = by_rank[r];
    const char* what = nullptr;
    if (other.config != root.config) {
      what = "the model configuration (a different model file?)";
    } else if (other.tokenizer != root.tokenizer) {
      what = "the tokenizer (a different model file or version?)";
    } else if (other.tensors != root.tensors) {
      what = "the tensors' names, quantization types or sizes (a different quantization?)";
    } else if (other.options != root.options) {
      what = "the run options (-c/--ctx-size, the KV cache type or --split)";
    }
    if (what) {
      return "rank " + std::to_string(r) + " disagrees with rank 0 on " + what +
             "; every rank must load the same model with the same options";
    }
  }
  return {};
}

}  // namespace llama3::distributed
