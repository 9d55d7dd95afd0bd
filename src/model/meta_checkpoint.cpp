#include "model/meta_checkpoint.hpp"

#include <cstdio>
#include <limits>

#include "io/file_contents.hpp"
#include "llama3/error.hpp"
#include "model/expected_tensors.hpp"
#include "model/rope_frequencies.hpp"
#include "tokenizer/vocab_files.hpp"

namespace llama3::model {
namespace {

// More shards than any release has (Llama 3.1 405B has 8 per node, 16 in its MP16 form).
constexpr int kMaxShards = 64;

std::filesystem::path shard_path(const std::filesystem::path& folder, int index) {
  char name[32];
  std::snprintf(name, sizeof name, "consolidated.%02d.pth", index);
  return folder / name;
}

}  // namespace

bool is_meta_checkpoint_folder(const std::filesystem::path& folder) {
  std::error_code error;
  return std::filesystem::is_regular_file(folder / "params.json", error) &&
         std::filesystem::is_regular_file(shard_path(folder, 0), error) &&
         !std::filesystem::exists(folder / "config.json", error);
}

MetaCheckpoint MetaCheckpoint::open(const std::filesystem::path& folder,
                                    const io::MapOptions& options) {
  const auto params_path = folder / "params.json";
  MetaCheckpoint checkpoint{
      folder,
      io::parse_meta_params(io::read_file_contents(params_path), params_path.string()),
      {},
      std::nullopt};
  for (int i = 0; std::filesystem::exists(shard_path(folder, i)); ++i) {
    if (i == kMaxShards) {
      throw Error(ErrorCode::kUnsupported,
                  folder.string() + ": more than " + std::to_string(kMaxShards) + " shards");
    }
    checkpoint.shards.push_back(io::PytorchCheckpoint::open(shard_path(folder, i), options));
  }
  if (checkpoint.shards.empty()) {
    throw Error(ErrorCode::kIo, shard_path(folder, 0).string() + ": not found");
  }
  // A shard past a gap (or a misnamed one) would be silently left out.
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("consolidated.") || !name.ends_with(".pth")) continue;
    bool known = false;
    for (std::size_t i = 0; i < checkpoint.shards.size(); ++i) {
      known = known || name == shard_path(folder, static_cast<int>(i)).filename().string();
    }
    if (!known) {
      throw Error(ErrorCode::kBadFormat,
                  folder.string() + ": " + name + " is not one of consolidated.00.pth to " +
                      shard_path(folder, static_cast<int>(checkpoint.shards.size()) - 1)
                          .filename()
                          .string() +
                      " (a gap in the shard numbers?)");
    }
  }
  const auto tokenizer_path = folder / "tokenizer.model";
  if (std::filesystem::exists(tokenizer_path)) {
    checkpoint.tokenizer.emplace(detail::TokenizerAccess::make(detail::parse_tiktoken_model(
        io::read_file_contents(tokenizer_path), tokenizer_path.string())));
  }
  return checkpoint;
}

ModelConfig config_from_meta(const MetaCheckpoint& checkpoint, const WeightSource& weights) {
  const auto& params = checkpoint.params;
  const std::string origin = (checkpoint.folder / "params.json").string();
  ModelConfig config;
  config.name = checkpoint.folder.filename().string();
  if (config.name.empty()) config.name = checkpoint.folder.parent_path().filename().string();
  config.dim = params.dim;
  config.n_layers = params.n_layers;
  config.n_heads = params.n_heads;
  config.n_kv_heads = params.n_kv_heads;
  config.head_dim = params.dim / params.n_heads;
  config.ffn_dim = io::meta_ffn_dim(params, origin);
  // params.json has no context length; Meta's model cards give 8K for 3.0 and 128K for the scaled
  // rope of 3.1 and later.
  config.context_length = params.max_seq_len.value_or(params.use_scaled_rope ? 131072 : 8192);
  config.rope_theta = static_cast<float>(params.rope_theta);
  config.norm_eps = static_cast<float>(params.norm_eps);
  config.has_rope_freqs = params.use_scaled_rope;
  config.rope_layout = RopeLayout::kAdjacentPairs;  // Meta's own q/k row order
  const auto* embedding = weights.find("token_embd.weight");
  if (!embedding)
    throw Error(ErrorCode::kBadFormat, weights.origin() + ": missing tensor tok_embeddings.weight");
  if (embedding->n_dims != 2 || embedding->ne[1] > std::numeric_limits<int>::max()) {
    throw Error(ErrorCode::kBadFormat,
                weights.origin() + ": tok_embeddings.weight: expected 2 dims [vocab, dim]");
  }
  config.n_vocab = static_cast<int>(embedding->ne[1]);
  if (params.vocab_size > 0 && config.n_vocab != params.vocab_size) {
    throw Error(ErrorCode::kBadFormat,
                origin + ": vocab_size = " + std::to_string(params.vocab_size) +
                    " but tok_embeddings.weight has " + std::to_string(config.n_vocab) + " rows");
  }
  // Llama 3.2 1B and 3B tie the output layer to the embedding; their checkpoints may omit it.
  config.tied_embeddings = weights.find("output.weight") == nullptr;
  check_weights_match_config(weights, config, {origin, "params.json", "n_layers", false});
  return config;
}

std::vector<float> meta_rope_divisors(const io::MetaParams& params) {
  if (!params.use_scaled_rope) return {};
  Llama3RopeScaling scaling;
  scaling.factor = params.rope_scaling_factor;
  scaling.high_freq_factor = params.rope_high_freq_factor;
  return llama3_rope_divisors(params.dim / params.n_heads, params.rope_theta, scaling);
}

}  // namespace llama3::model
