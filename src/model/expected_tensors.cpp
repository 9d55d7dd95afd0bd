#include "model/expected_tensors.hpp"

#include <charconv>

#include "llama3/error.hpp"
#include "model/hf_names.hpp"

namespace llama3::model {
namespace {

constexpr const char* kBlockTensors[] = {"attn_norm", "attn_q",      "attn_k",
                                         "attn_v",    "attn_output", "ffn_norm",
                                         "ffn_gate",  "ffn_up",      "ffn_down"};

std::string shape_text(const std::uint64_t* ne, std::size_t n_dims, bool pytorch_order) {
  std::string text = "[";
  for (std::size_t d = 0; d < n_dims; ++d) {
    if (d) text += ", ";
    text += std::to_string(ne[pytorch_order ? n_dims - 1 - d : d]);
  }
  return text + "]";
}

// "blk.12.ffn_up.weight" -> 12; -1 for a tensor outside the blocks or a malformed index.
long long block_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  long long block = -1;
  const char* begin = name.data() + 4;
  const char* end = name.data() + name.size();
  const auto [at, error] = std::from_chars(begin, end, block);
  if (error != std::errc() || at == begin || at == end || *at != '.') return -1;
  return block;
}

}  // namespace

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& config) {
  const auto dim = static_cast<std::uint64_t>(config.dim);
  const auto q_dim = static_cast<std::uint64_t>(config.n_heads) * config.head_dim;
  const auto kv_dim = static_cast<std::uint64_t>(config.n_kv_heads) * config.head_dim;
  const auto ffn_dim = static_cast<std::uint64_t>(config.ffn_dim);
  const auto n_vocab = static_cast<std::uint64_t>(config.n_vocab);
  std::vector<ExpectedTensor> tensors;
  tensors.reserve(static_cast<std::size_t>(config.n_layers) * 9 + 3);
  tensors.push_back({"token_embd.weight", {dim, n_vocab}});
  for (int layer = 0; layer < config.n_layers; ++layer) {
    const std::string p = "blk." + std::to_string(layer) + ".";
    tensors.push_back({p + "attn_norm.weight", {dim}});
    tensors.push_back({p + "attn_q.weight", {dim, q_dim}});
    tensors.push_back({p + "attn_k.weight", {dim, kv_dim}});
    tensors.push_back({p + "attn_v.weight", {dim, kv_dim}});
    tensors.push_back({p + "attn_output.weight", {q_dim, dim}});
    tensors.push_back({p + "ffn_norm.weight", {dim}});
    tensors.push_back({p + "ffn_gate.weight", {dim, ffn_dim}});
    tensors.push_back({p + "ffn_up.weight", {dim, ffn_dim}});
    tensors.push_back({p + "ffn_down.weight", {ffn_dim, dim}});
  }
  tensors.push_back({"output_norm.weight", {dim}});
  if (!config.tied_embeddings) tensors.push_back({"output.weight", {dim, n_vocab}});
  return tensors;
}

void check_weights_match_config(const WeightSource& weights, const ModelConfig& config,
                                const ConfigSpelling& spelling) {
  // The block count first, from the names alone: a huge count in a tiny file must fail before
  // anything is sized by it.
  long long n_blocks = 0;
  for (const auto& tensor : weights.tensors()) {
    const long long block = block_of(tensor.name);
    if (block >= n_blocks) n_blocks = block + 1;
  }
  if (n_blocks != config.n_layers) {
    throw Error(ErrorCode::kBadFormat,
                spelling.origin + ": " + spelling.block_count_key + " = " +
                    std::to_string(config.n_layers) + " but the weights have tensors for " +
                    std::to_string(n_blocks) + (n_blocks == 1 ? " block" : " blocks"));
  }
  for (const auto& expected : expected_tensors(config)) {
    const auto* tensor = weights.find(expected.name);
    if (!tensor) {
      const auto hf_name = hf_name_from_gguf(expected.name);
      const std::string name = spelling.hugging_face && hf_name ? *hf_name : expected.name;
      throw Error(ErrorCode::kBadFormat, weights.origin() + ": missing tensor " + name);
    }
    const bool same = tensor->n_dims == expected.ne.size() &&
                      std::equal(expected.ne.begin(), expected.ne.end(), tensor->ne.begin());
    if (!same) {
      throw Error(ErrorCode::kBadFormat,
                  weights.origin() + ": " + tensor->file_name + ": " + spelling.config_name +
                      " gives shape " +
                      shape_text(expected.ne.data(), expected.ne.size(), spelling.hugging_face) +
                      ", the weights have " +
                      shape_text(tensor->ne.data(), tensor->n_dims, spelling.hugging_face));
    }
  }
}

}  // namespace llama3::model
