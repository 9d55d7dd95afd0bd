#include "model/quant_mix.hpp"

#include <array>
#include <cctype>
#include <charconv>

#include "kernels/reference.hpp"

namespace llama3::model {
namespace {

struct NamedMix {
  std::string_view name;
  io::TensorType base;
  bool more_bits;
  std::uint32_t file_type;
};

constexpr std::array<NamedMix, 13> kMixes = {{
    {"f32", io::TensorType::kF32, false, 0},
    {"f16", io::TensorType::kF16, false, 1},
    {"bf16", io::TensorType::kBF16, false, 32},
    {"q4_0", io::TensorType::kQ4_0, false, 2},
    {"q4_1", io::TensorType::kQ4_1, false, 3},
    {"q8_0", io::TensorType::kQ8_0, false, 7},
    {"q5_0", io::TensorType::kQ5_0, false, 8},
    {"q5_1", io::TensorType::kQ5_1, false, 9},
    {"q4_k", io::TensorType::kQ4_K, false, 15},  // no _S rule here: llama.cpp's Q4_K_M number
    {"q5_k", io::TensorType::kQ5_K, false, 17},
    {"q6_k", io::TensorType::kQ6_K, false, 18},
    {"q4_k_m", io::TensorType::kQ4_K, true, 15},
    {"q5_k_m", io::TensorType::kQ5_K, true, 17},
}};

}  // namespace

std::optional<QuantMix> quant_mix_from_name(std::string_view name) {
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& mix : kMixes) {
    if (mix.name == lower)
      return QuantMix{std::string(mix.name), mix.base, mix.more_bits, mix.file_type};
  }
  return std::nullopt;
}

bool uses_more_bits(int layer, int n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

int layer_of(std::string_view gguf_name) {
  constexpr std::string_view kBlocks = "blk.";
  if (!gguf_name.starts_with(kBlocks)) return -1;
  int layer = -1;
  const char* begin = gguf_name.data() + kBlocks.size();
  const auto [end, error] = std::from_chars(begin, gguf_name.data() + gguf_name.size(), layer);
  return error == std::errc() && end != begin ? layer : -1;
}

io::TensorType tensor_type_for(const QuantMix& mix, std::string_view gguf_name,
                               std::uint32_t n_dims, std::uint64_t ne0, int n_layers,
                               bool tied_output) {
  if (n_dims < 2) return io::TensorType::kF32;
  io::TensorType type = mix.base;
  if (mix.more_bits_for_some) {
    const bool is_output =
        gguf_name == "output.weight" || (tied_output && gguf_name == "token_embd.weight");
    const bool some_layers =
        (gguf_name.ends_with(".attn_v.weight") || gguf_name.ends_with(".ffn_down.weight")) &&
        uses_more_bits(layer_of(gguf_name), n_layers);
    if (is_output || some_layers) type = io::TensorType::kQ6_K;
  }
  if (ne0 % io::traits_of(type).block_size != 0) type = io::TensorType::kF16;
  return type;
}

}  // namespace llama3::model
