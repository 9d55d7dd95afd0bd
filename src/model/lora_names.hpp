// LoRA tensor and module names (docs/lora.md "Names"): PEFT's
//   base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight   (A: [rank, in])
//   base_model.model.model.layers.N.mlp.down_proj.lora_B.weight      (B: [out, rank])
// (an adapter name such as ".default" may sit before ".weight"), and torchtune's
//   layers.N.attn.q_proj.lora_a.weight, layers.N.attn.output_proj.lora_b.weight,
//   layers.N.mlp.w1.lora_a.weight   (w1: gate, w2: down, w3: up).
// PEFT names come from a Hugging Face model, so their q/k rows are in HF's permuted order;
// torchtune's keep Meta's order.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace llama3::model {

// The linear layers an adapter may change, in forward-pass order.
enum class LoraTarget : int { kQ, kK, kV, kO, kGate, kUp, kDown };
inline constexpr int kLoraTargetCount = 7;

// "q_proj" ... "down_proj".
std::string_view lora_target_name(LoraTarget target);

// A module name as target_modules spells it, PEFT's or torchtune's ("o_proj", "output_proj",
// "w1"); nothing for any other name.
std::optional<LoraTarget> lora_target_from_module(std::string_view module);

enum class LoraNaming { kPeft, kTorchtune };

struct LoraTensorName {
  int layer = 0;
  LoraTarget target = LoraTarget::kQ;
  bool is_a = true;  // lora_A (down-projection) or lora_B (up-projection)
  LoraNaming naming = LoraNaming::kPeft;
};

// Why a name is not a LoRA matrix of a Llama linear layer, for the error message.
struct LoraNameProblem {
  std::string what;
  bool unsupported = false;  // a well-formed adapter of something this library does not run
};

// Parses one tensor name of an adapter file.
std::variant<LoraTensorName, LoraNameProblem> parse_lora_tensor_name(std::string_view name);

}  // namespace llama3::model
