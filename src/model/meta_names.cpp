#include "model/meta_names.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace llama3::model {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kLayerNames = {{
    {"attention_norm.weight", "attn_norm.weight"},
    {"attention.wq.weight", "attn_q.weight"},
    {"attention.wk.weight", "attn_k.weight"},
    {"attention.wv.weight", "attn_v.weight"},
    {"attention.wo.weight", "attn_output.weight"},
    {"ffn_norm.weight", "ffn_norm.weight"},
    {"feed_forward.w1.weight", "ffn_gate.weight"},
    {"feed_forward.w3.weight", "ffn_up.weight"},
    {"feed_forward.w2.weight", "ffn_down.weight"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kModelNames = {{
    {"tok_embeddings.weight", "token_embd.weight"},
    {"norm.weight", "output_norm.weight"},
    {"output.weight", "output.weight"},
}};

}  // namespace

std::optional<std::string> gguf_name_from_meta(std::string_view meta_name) {
  for (const auto& [meta, gguf] : kModelNames) {
    if (meta_name == meta) return std::string(gguf);
  }
  constexpr std::string_view kLayers = "layers.";
  if (!meta_name.starts_with(kLayers)) return std::nullopt;
  const std::string_view rest = meta_name.substr(kLayers.size());
  unsigned layer = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
  if (error != std::errc() || end == rest.data() || end == rest.data() + rest.size() ||
      *end != '.') {
    return std::nullopt;
  }
  // Only canonical decimal numbers: "01" would alias layer 1.
  if (rest.front() == '0' && end - rest.data() > 1) return std::nullopt;
  const std::string_view suffix = rest.substr(static_cast<std::size_t>(end - rest.data()) + 1);
  for (const auto& [meta, gguf] : kLayerNames) {
    if (suffix == meta) return "blk." + std::to_string(layer) + "." + std::string(gguf);
  }
  return std::nullopt;
}

std::optional<std::string> meta_name_from_gguf(std::string_view gguf_name) {
  for (const auto& [meta, gguf] : kModelNames) {
    if (gguf_name == gguf) return std::string(meta);
  }
  constexpr std::string_view kBlocks = "blk.";
  if (!gguf_name.starts_with(kBlocks)) return std::nullopt;
  const std::string_view rest = gguf_name.substr(kBlocks.size());
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  for (const auto& [meta, gguf] : kLayerNames) {
    if (rest.substr(dot + 1) == gguf) {
      return "layers." + std::string(rest.substr(0, dot)) + "." + std::string(meta);
    }
  }
  return std::nullopt;
}

int meta_shard_dim(std::string_view gguf_name) {
  return gguf_name.ends_with(".attn_output.weight") || gguf_name.ends_with(".ffn_down.weight") ? 1
                                                                                               : 0;
}

}  // namespace llama3::model
