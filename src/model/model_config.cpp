#include "model/model_config.hpp"

#include <limits>
#include <string>

#include "llama3/error.hpp"

namespace llama3::model {
namespace {

[[noreturn]] void fail(const io::GgufFile& gguf, ErrorCode code, const std::string& message) {
  throw Error(code, gguf.name() + ": " + message);
}

// A positive count that fits an int (dimensions and counts are far below 2^31 in any real model).
int positive_int(const io::GgufFile& gguf, const std::string& key) {
  const std::uint64_t value = gguf.get(key).as_uint(key);
  if (value == 0 || value > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
    fail(gguf, ErrorCode::kBadFormat, key + " = " + std::to_string(value) + " is out of range");
  }
  return static_cast<int>(value);
}

int optional_positive_int(const io::GgufFile& gguf, const std::string& key, int fallback) {
  return gguf.find(key) ? positive_int(gguf, key) : fallback;
}

}  // namespace

ModelConfig config_from_gguf(const io::GgufFile& gguf) {
  const std::string arch(gguf.get("general.architecture").as_string("general.architecture"));
  if (arch != "llama") {
    fail(gguf, ErrorCode::kUnsupported,
         "general.architecture '" + arch + "' is not supported (only 'llama')");
  }
  ModelConfig config;
  if (const auto* name = gguf.find("general.name")) {
    config.name = std::string(name->as_string("general.name"));
  } else {
    config.name = gguf.name();
  }
  config.dim = positive_int(gguf, "llama.embedding_length");
  config.n_layers = positive_int(gguf, "llama.block_count");
  config.ffn_dim = positive_int(gguf, "llama.feed_forward_length");
  config.n_heads = positive_int(gguf, "llama.attention.head_count");
  config.n_kv_heads = optional_positive_int(gguf, "llama.attention.head_count_kv", config.n_heads);
  config.context_length = optional_positive_int(gguf, "llama.context_length", 2048);

  if (config.n_heads % config.n_kv_heads != 0) {
    fail(gguf, ErrorCode::kBadFormat,
         "llama.attention.head_count (" + std::to_string(config.n_heads) +
             ") is not a multiple of llama.attention.head_count_kv (" +
             std::to_string(config.n_kv_heads) + ")");
  }
  if (gguf.find("llama.attention.key_length")) {
    config.head_dim = positive_int(gguf, "llama.attention.key_length");
    const int value_length =
        optional_positive_int(gguf, "llama.attention.value_length", config.head_dim);
    if (value_length != config.head_dim) {
      fail(gguf, ErrorCode::kUnsupported,
           "llama.attention.value_length differs from key_length; not a Llama 3 layout");
    }
  } else {
    if (config.dim % config.n_heads != 0) {
      fail(gguf, ErrorCode::kBadFormat,
           "llama.embedding_length (" + std::to_string(config.dim) +
               ") is not a multiple of llama.attention.head_count (" +
               std::to_string(config.n_heads) + ")");
    }
    config.head_dim = config.dim / config.n_heads;
  }
  if (config.head_dim % 2 != 0) {
    fail(gguf, ErrorCode::kBadFormat,
         "head size " + std::to_string(config.head_dim) + " is odd; RoPE rotates pairs");
  }
  if (const auto* rope_dims = gguf.find("llama.rope.dimension_count")) {
    const auto n = rope_dims->as_uint("llama.rope.dimension_count");
    if (n != static_cast<std::uint64_t>(config.head_dim)) {
      fail(gguf, ErrorCode::kUnsupported,
           "llama.rope.dimension_count = " + std::to_string(n) + " differs from the head size " +
               std::to_string(config.head_dim) + " (partial rotary embeddings are not Llama 3)");
    }
  }
  if (const auto* theta = gguf.find("llama.rope.freq_base")) {
    config.rope_theta = static_cast<float>(theta->as_float("llama.rope.freq_base"));
    if (!(config.rope_theta > 1.0f)) {
      fail(gguf, ErrorCode::kBadFormat, "llama.rope.freq_base must be > 1");
    }
  }
  if (const auto* scaling = gguf.find("llama.rope.scaling.type")) {
    const std::string type(scaling->as_string("llama.rope.scaling.type"));
    if (type != "none") {
      fail(gguf, ErrorCode::kUnsupported,
           "llama.rope.scaling.type '" + type +
               "' is not supported (Llama 3.1 scaling comes as rope_freqs.weight)");
    }
  }
  if (const auto* eps = gguf.find("llama.attention.layer_norm_rms_epsilon")) {
    config.norm_eps = static_cast<float>(eps->as_float("llama.attention.layer_norm_rms_epsilon"));
    if (!(config.norm_eps > 0.0f) || config.norm_eps > 1.0f) {
      fail(gguf, ErrorCode::kBadFormat, "llama.attention.layer_norm_rms_epsilon is out of range");
    }
  }

  const auto* embedding = gguf.find_tensor("token_embd.weight");
  if (!embedding) fail(gguf, ErrorCode::kBadFormat, "missing tensor token_embd.weight");
  if (embedding->n_dims != 2 || embedding->ne[1] > std::numeric_limits<int>::max()) {
    fail(gguf, ErrorCode::kBadFormat, "token_embd.weight: expected 2 dims [dim, n_vocab]");
  }
  config.n_vocab = static_cast<int>(embedding->ne[1]);
  if (const auto* vocab_size = gguf.find("llama.vocab_size")) {
    const auto n = vocab_size->as_uint("llama.vocab_size");
    if (n != static_cast<std::uint64_t>(config.n_vocab)) {
      fail(gguf, ErrorCode::kBadFormat,
           "llama.vocab_size = " + std::to_string(n) + " but token_embd.weight has " +
               std::to_string(config.n_vocab) + " rows");
    }
  }
  config.tied_embeddings = gguf.find_tensor("output.weight") == nullptr;
  config.has_rope_freqs = gguf.find_tensor("rope_freqs.weight") != nullptr;
  return config;
}

}  // namespace llama3::model
