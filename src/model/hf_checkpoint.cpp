#include "model/hf_checkpoint.hpp"

#include <limits>

#include "io/file_contents.hpp"
#include "llama3/error.hpp"
#include "model/expected_tensors.hpp"
#include "model/rope_frequencies.hpp"
#include "tokenizer/llama3_bpe.hpp"
#include "tokenizer/vocab_files.hpp"

namespace llama3::model {
namespace {

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw Error(ErrorCode::kBadFormat, origin + ": " + what);
}

}  // namespace

HfCheckpoint HfCheckpoint::open(const std::filesystem::path& folder,
                                const io::MapOptions& options) {
  const auto config_path = folder / "config.json";
  const auto generation_path = folder / "generation_config.json";
  const auto tokenizer_path = folder / "tokenizer.json";
  const auto tokenizer_config_path = folder / "tokenizer_config.json";
  HfCheckpoint checkpoint{
      folder,
      io::parse_hf_config(io::read_file_contents(config_path), config_path.string()),
      std::nullopt,
      std::nullopt,
      io::SafetensorsCheckpoint::open(folder, options),
      std::nullopt};
  if (std::filesystem::exists(generation_path)) {
    checkpoint.generation = io::parse_hf_generation_config(io::read_file_contents(generation_path),
                                                           generation_path.string());
  }
  if (std::filesystem::exists(tokenizer_config_path)) {
    checkpoint.chat_template = io::parse_hf_chat_template(
        io::read_file_contents(tokenizer_config_path), tokenizer_config_path.string());
  }
  if (std::filesystem::exists(tokenizer_path)) {
    auto spec = detail::tokenizer_json_spec(io::read_file_contents(tokenizer_path),
                                            tokenizer_path.string());
    // tokenizer.json has no notion of bos/eos; config.json names them (eos may be a list: the
    // 3.1 instruct models stop on <|end_of_text|>, <|eom_id|> and <|eot_id|>).
    const auto& config = checkpoint.config;
    if (!config.bos_token_ids.empty()) spec.bos = config.bos_token_ids.front();
    if (!config.eos_token_ids.empty()) spec.eos = config.eos_token_ids.front();
    spec.extra_end_of_generation = config.eos_token_ids;
    if (checkpoint.generation) {
      const auto& more = checkpoint.generation->eos_token_ids;
      spec.extra_end_of_generation.insert(spec.extra_end_of_generation.end(), more.begin(),
                                          more.end());
    }
    checkpoint.tokenizer.emplace(
        detail::TokenizerAccess::make(detail::make_llama3_bpe(std::move(spec))));
  }
  return checkpoint;
}

ModelConfig config_from_hf(const HfCheckpoint& checkpoint, const WeightSource& weights) {
  const auto& hf = checkpoint.config;
  const std::string origin = (checkpoint.folder / "config.json").string();
  ModelConfig config;
  config.name = checkpoint.folder.filename().string();
  if (config.name.empty()) config.name = checkpoint.folder.parent_path().filename().string();
  config.dim = hf.hidden_size;
  config.n_layers = hf.num_hidden_layers;
  config.n_heads = hf.num_attention_heads;
  config.n_kv_heads = hf.num_key_value_heads;
  config.head_dim = hf.head_dim;
  config.ffn_dim = hf.intermediate_size;
  config.context_length = hf.max_position_embeddings;
  config.rope_theta = static_cast<float>(hf.rope_theta);
  config.norm_eps = static_cast<float>(hf.rms_norm_eps);
  config.tied_embeddings = hf.tie_word_embeddings;
  config.has_rope_freqs = hf.rope_scaling.has_value();
  config.rope_layout = RopeLayout::kHalfSplit;
  if (config.n_heads % config.n_kv_heads != 0) {
    bad(origin, "num_attention_heads (" + std::to_string(config.n_heads) +
                    ") is not a multiple of num_key_value_heads (" +
                    std::to_string(config.n_kv_heads) + ")");
  }
  if (config.head_dim % 2 != 0) {
    bad(origin, "head_dim " + std::to_string(config.head_dim) + " is odd; RoPE rotates pairs");
  }
  const auto* embedding = weights.find("token_embd.weight");
  if (!embedding) bad(weights.origin(), "missing tensor model.embed_tokens.weight");
  if (embedding->n_dims != 2 || embedding->ne[1] > std::numeric_limits<int>::max()) {
    bad(weights.origin(), "model.embed_tokens.weight: expected 2 dims [vocab, hidden]");
  }
  config.n_vocab = static_cast<int>(embedding->ne[1]);
  if (config.n_vocab != hf.vocab_size) {
    bad(origin, "vocab_size = " + std::to_string(hf.vocab_size) +
                    " but model.embed_tokens.weight has " + std::to_string(config.n_vocab) +
                    " rows");
  }
  if (!config.tied_embeddings && !weights.find("output.weight")) {
    bad(weights.origin(), "missing tensor lm_head.weight (and tie_word_embeddings is false)");
  }
  check_weights_match_config(weights, config, {origin, "config.json", "num_hidden_layers", true});
  return config;
}

std::vector<float> hf_rope_divisors(const io::HfConfig& config) {
  if (!config.rope_scaling) return {};
  Llama3RopeScaling scaling;
  scaling.factor = config.rope_scaling->factor;
  scaling.low_freq_factor = config.rope_scaling->low_freq_factor;
  scaling.high_freq_factor = config.rope_scaling->high_freq_factor;
  scaling.original_context = config.rope_scaling->original_max_position_embeddings;
  return llama3_rope_divisors(config.head_dim, config.rope_theta, scaling);
}

GenerationDefaults hf_generation_defaults(const std::optional<io::HfGenerationConfig>& generation) {
  GenerationDefaults params;
  if (!generation) return params;
  if (generation->temperature) params.temperature = static_cast<float>(*generation->temperature);
  if (generation->top_p) params.top_p = static_cast<float>(*generation->top_p);
  if (generation->top_k) params.top_k = *generation->top_k;
  // transformers' default for do_sample is false: greedy unless the config asks for sampling.
  if (generation->do_sample && !*generation->do_sample) params.temperature = 0.0f;
  return params;
}

}  // namespace llama3::model
