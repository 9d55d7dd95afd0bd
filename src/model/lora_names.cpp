#include "model/lora_names.hpp"

#include <charconv>
#include <utility>

namespace llama3::model {
namespace {

struct ModuleName {
  std::string_view path;  // after "layers.N."
  LoraTarget target;
  LoraNaming naming;
};

constexpr std::array<ModuleName, 14> kModules = {{
    {"self_attn.q_proj", LoraTarget::kQ, LoraNaming::kPeft},
    {"self_attn.k_proj", LoraTarget::kK, LoraNaming::kPeft},
    {"self_attn.v_proj", LoraTarget::kV, LoraNaming::kPeft},
    {"self_attn.o_proj", LoraTarget::kO, LoraNaming::kPeft},
    {"mlp.gate_proj", LoraTarget::kGate, LoraNaming::kPeft},
    {"mlp.up_proj", LoraTarget::kUp, LoraNaming::kPeft},
    {"mlp.down_proj", LoraTarget::kDown, LoraNaming::kPeft},
    {"attn.q_proj", LoraTarget::kQ, LoraNaming::kTorchtune},
    {"attn.k_proj", LoraTarget::kK, LoraNaming::kTorchtune},
    {"attn.v_proj", LoraTarget::kV, LoraNaming::kTorchtune},
    {"attn.output_proj", LoraTarget::kO, LoraNaming::kTorchtune},
    {"mlp.w1", LoraTarget::kGate, LoraNaming::kTorchtune},
    {"mlp.w3", LoraTarget::kUp, LoraNaming::kTorchtune},
    {"mlp.w2", LoraTarget::kDown, LoraNaming::kTorchtune},
}};

constexpr std::array<std::pair<std::string_view, LoraTarget>, 11> kTargetModules = {{
    {"q_proj", LoraTarget::kQ},
    {"k_proj", LoraTarget::kK},
    {"v_proj", LoraTarget::kV},
    {"o_proj", LoraTarget::kO},
    {"gate_proj", LoraTarget::kGate},
    {"up_proj", LoraTarget::kUp},
    {"down_proj", LoraTarget::kDown},
    {"output_proj", LoraTarget::kO},
    {"w1", LoraTarget::kGate},
    {"w3", LoraTarget::kUp},
    {"w2", LoraTarget::kDown},
}};

bool consume(std::string_view& text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  return true;
}

}  // namespace

std::string_view lora_target_name(LoraTarget target) {
  return kTargetModules[static_cast<std::size_t>(target)].first;
}

std::optional<LoraTarget> lora_target_from_module(std::string_view module) {
  for (const auto& [name, target] : kTargetModules) {
    if (module == name) return target;
  }
  return std::nullopt;
}

std::variant<LoraTensorName, LoraNameProblem> parse_lora_tensor_name(std::string_view name) {
  std::string_view rest = name;
  LoraTensorName parsed;
  // PEFT wraps the HF model twice (PeftModel -> LoraModel -> LlamaForCausalLM).
  const bool peft_prefix = consume(rest, "base_model.model.");
  if (!consume(rest, "model.layers.") && !consume(rest, "layers.")) {
    if (rest.find("lm_head") != std::string_view::npos ||
        rest.find("embed_tokens") != std::string_view::npos || rest.starts_with("output") ||
        rest.starts_with("tok_embeddings")) {
      return LoraNameProblem{"adapters of the embedding or output layer are not supported", true};
    }
    return LoraNameProblem{"not a LoRA matrix of a layer (expected ...layers.N.<module>.lora_A)"};
  }
  unsigned layer = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
  if (error != std::errc() || end == rest.data() || *end != '.' ||
      (rest.front() == '0' && end - rest.data() > 1) || layer > 1000000) {
    return LoraNameProblem{"no layer number after 'layers.'"};
  }
  parsed.layer = static_cast<int>(layer);
  rest.remove_prefix(static_cast<std::size_t>(end - rest.data()) + 1);

  // <module>.lora_X[.adapter_name].weight
  std::size_t marker = std::string_view::npos;
  for (std::string_view key : {".lora_A", ".lora_B", ".lora_a", ".lora_b"}) {
    const std::size_t at = rest.find(key);
    if (at != std::string_view::npos && at < marker) marker = at;
  }
  if (marker == std::string_view::npos) {
    // PEFT: <module>.lora_magnitude_vector[.name][.weight]; torchtune: <module>.magnitude.
    if (rest.find("lora_magnitude") != std::string_view::npos || rest.ends_with(".magnitude")) {
      return LoraNameProblem{"DoRA magnitude vectors are not supported", true};
    }
    if (rest.ends_with(".bias")) return LoraNameProblem{"trained biases are not supported", true};
    return LoraNameProblem{"neither lora_A nor lora_B"};
  }
  const std::string_view module = rest.substr(0, marker);
  const char which = rest[marker + 6];  // A, B, a or b
  std::string_view tail = rest.substr(marker + 7);
  parsed.is_a = which == 'A' || which == 'a';
  const bool torchtune_marker = which == 'a' || which == 'b';
  if (!tail.ends_with(".weight")) return LoraNameProblem{"does not end in .weight"};
  tail.remove_suffix(7);
  if (!tail.empty() &&
      (torchtune_marker || !tail.starts_with('.') || tail.find('.', 1) != std::string_view::npos)) {
    return LoraNameProblem{"unexpected '" + std::string(tail) + "' before .weight"};
  }
  for (const auto& candidate : kModules) {
    if (module != candidate.path) continue;
    if ((candidate.naming == LoraNaming::kTorchtune) != torchtune_marker ||
        (torchtune_marker && peft_prefix)) {
      return LoraNameProblem{"mixes PEFT and torchtune naming"};
    }
    parsed.target = candidate.target;
    parsed.naming = candidate.naming;
    return parsed;
  }
  return LoraNameProblem{"unknown target module '" + std::string(module) +
                         "' (q/k/v/o_proj, gate/up/down_proj, or torchtune's "
                         "attn.*_proj, attn.output_proj, mlp.w1/w2/w3)"};
}

}  // namespace llama3::model
