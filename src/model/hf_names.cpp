#include "model/hf_names.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace llama3::model {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kLayerNames = {{
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
}};

}  // namespace

std::optional<std::string> gguf_name_from_hf(std::string_view hf_name) {
  if (hf_name == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf_name == "model.norm.weight") return "output_norm.weight";
  if (hf_name == "lm_head.weight") return "output.weight";
  constexpr std::string_view kLayers = "model.layers.";
  if (!hf_name.starts_with(kLayers)) return std::nullopt;
  std::string_view rest = hf_name.substr(kLayers.size());
  unsigned layer = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
  if (error != std::errc() || end == rest.data() || *end != '.') return std::nullopt;
  // Only canonical decimal numbers: "01" would alias layer 1.
  if (rest.front() == '0' && end - rest.data() > 1) return std::nullopt;
  const std::string_view suffix = rest.substr(static_cast<std::size_t>(end - rest.data()) + 1);
  for (const auto& [hf, gguf] : kLayerNames) {
    if (suffix == hf) return "blk." + std::to_string(layer) + "." + std::string(gguf);
  }
  return std::nullopt;
}

std::optional<std::string> hf_name_from_gguf(std::string_view gguf_name) {
  if (gguf_name == "token_embd.weight") return "model.embed_tokens.weight";
  if (gguf_name == "output_norm.weight") return "model.norm.weight";
  if (gguf_name == "output.weight") return "lm_head.weight";
  constexpr std::string_view kBlocks = "blk.";
  if (!gguf_name.starts_with(kBlocks)) return std::nullopt;
  const std::string_view rest = gguf_name.substr(kBlocks.size());
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view layer = rest.substr(0, dot);
  const std::string_view suffix = rest.substr(dot + 1);
  for (const auto& [hf, gguf] : kLayerNames) {
    if (suffix == gguf) return "model.layers." + std::string(layer) + "." + std::string(hf);
  }
  return std::nullopt;
}

std::size_t hf_row_of_meta_row(std::size_t meta_row, std::size_t head_dim) {
  const std::size_t head = meta_row / head_dim, within = meta_row % head_dim;
  return head * head_dim + (within % 2) * (head_dim / 2) + within / 2;
}

std::size_t meta_row_of_hf_row(std::size_t hf_row, std::size_t head_dim) {
  const std::size_t head = hf_row / head_dim, within = hf_row % head_dim, half = head_dim / 2;
  return head * head_dim + 2 * (within % half) + within / half;
}

bool is_hf_permuted(std::string_view gguf_name) {
  return gguf_name.ends_with(".attn_q.weight") || gguf_name.ends_with(".attn_k.weight");
}

}  // namespace llama3::model
