// A LoRA adapter's adapter_config.json, as PEFT writes it (and torchtune's PEFT export): the rank
// `r`, `lora_alpha`, `use_rslora` and `target_modules`. Options this library does not run (DoRA,
// per-module ranks or alphas, fan_in_fan_out, another peft_type, trained biases) are refused with
// kUnsupported naming the key, malformed values with kBadFormat "<file>: <key>: <what>".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llama3::io {

struct LoraConfig {
  int rank = 0;        // r
  double alpha = 0.0;  // lora_alpha
  bool use_rslora = false;
  // target_modules when it is a list; nothing when it is a single string (PEFT reads that as a
  // regular expression or "all-linear"): the tensors present then say which modules have adapters.
  std::optional<std::vector<std::string>> target_modules;
};

// `origin` names the file in messages.
LoraConfig parse_lora_config(std::string_view json_text, const std::string& origin);

}  // namespace llama3::io
