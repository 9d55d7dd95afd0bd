#include "io/hf_config.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "llama3/error.hpp"

namespace llama3::io {
namespace {

using Json = nlohmann::json;

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw Error(ErrorCode::kBadFormat, origin + ": " + what);
}

Json parse_object(std::string_view text, const std::string& origin) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::exception& error) {
    bad(origin, std::string("not valid JSON: ") + error.what());
  }
  if (!root.is_object()) bad(origin, "not a JSON object");
  return root;
}

// A present, non-null value of `key`, or nullptr.
const Json* field(const Json& object, const std::string& key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

int positive_int(const Json& object, const std::string& key, const std::string& origin,
                 std::optional<int> fallback = std::nullopt) {
  const Json* value = field(object, key);
  if (!value) {
    if (fallback) return *fallback;
    bad(origin, "missing " + key);
  }
  if (!value->is_number_integer() || value->get<std::int64_t>() <= 0 ||
      value->get<std::int64_t>() > std::numeric_limits<int>::max()) {
    bad(origin, key + " = " + value->dump() + " is not a positive integer");
  }
  return value->get<int>();
}

std::optional<double> finite_number(const Json& object, const std::string& key,
                                    const std::string& origin) {
  const Json* value = field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_number() || !std::isfinite(value->get<double>())) {
    bad(origin, key + " = " + value->dump() + " is not a finite number");
  }
  return value->get<double>();
}

// An id given as an int or a list of ints (eos_token_id in the 3.1 instruct configs).
std::vector<int> token_ids(const Json& object, const std::string& key, const std::string& origin) {
  const Json* value = field(object, key);
  if (!value) return {};
  std::vector<int> ids;
  auto take = [&](const Json& id) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
        id.get<std::int64_t>() > std::numeric_limits<int>::max()) {
      bad(origin, key + " holds " + id.dump() + ", not a token id");
    }
    ids.push_back(id.get<int>());
  };
  if (value->is_array()) {
    for (const auto& id : *value) take(id);
  } else {
    take(*value);
  }
  return ids;
}

// rope_scaling {"rope_type"|"type": "llama3", factor, ...} or rope_parameters (which also carries
// rope_theta). "default"/"none" mean plain RoPE.
void read_rope(const Json& node, const std::string& key, const std::string& origin,
               HfConfig& config) {
  if (!node.is_object()) bad(origin, key + " is not an object");
  if (auto theta = finite_number(node, "rope_theta", origin)) config.rope_theta = *theta;
  std::string type = "default";
  if (const Json* t = field(node, "rope_type")) {
    if (!t->is_string()) bad(origin, key + ".rope_type is not a string");
    type = t->get<std::string>();
  } else if (const Json* t2 = field(node, "type")) {
    if (!t2->is_string()) bad(origin, key + ".type is not a string");
    type = t2->get<std::string>();
  }
  if (type == "default" || type == "none") return;
  if (type != "llama3") {
    throw Error(ErrorCode::kUnsupported,
                origin + ": " + key + " type '" + type + "' is not supported (only llama3)");
  }
  HfLlama3RopeScaling scaling;
  auto number = [&](const char* name, double& out) {
    if (auto v = finite_number(node, name, origin)) out = *v;
    if (!(out > 0.0)) bad(origin, key + "." + name + " must be positive");
  };
  number("factor", scaling.factor);
  number("low_freq_factor", scaling.low_freq_factor);
  number("high_freq_factor", scaling.high_freq_factor);
  number("original_max_position_embeddings", scaling.original_max_position_embeddings);
  if (!(scaling.high_freq_factor > scaling.low_freq_factor)) {
    bad(origin, key + ": high_freq_factor must exceed low_freq_factor");
  }
  config.rope_scaling = scaling;
}

}  // namespace

HfConfig parse_hf_config(std::string_view json, const std::string& origin) {
  const Json root = parse_object(json, origin);
  if (const Json* type = field(root, "model_type")) {
    if (!type->is_string() || type->get<std::string>() != "llama") {
      throw Error(ErrorCode::kUnsupported,
                  origin + ": model_type " + type->dump() + " is not supported (only \"llama\")");
    }
  }
  HfConfig config;
  config.hidden_size = positive_int(root, "hidden_size", origin);
  config.intermediate_size = positive_int(root, "intermediate_size", origin);
  config.num_hidden_layers = positive_int(root, "num_hidden_layers", origin);
  config.num_attention_heads = positive_int(root, "num_attention_heads", origin);
  config.num_key_value_heads =
      positive_int(root, "num_key_value_heads", origin, config.num_attention_heads);
  if (config.hidden_size % config.num_attention_heads != 0 && !field(root, "head_dim")) {
    bad(origin, "hidden_size is not a multiple of num_attention_heads and head_dim is absent");
  }
  config.head_dim =
      positive_int(root, "head_dim", origin, config.hidden_size / config.num_attention_heads);
  config.max_position_embeddings = positive_int(root, "max_position_embeddings", origin, 2048);
  config.vocab_size = positive_int(root, "vocab_size", origin);
  if (auto eps = finite_number(root, "rms_norm_eps", origin)) config.rms_norm_eps = *eps;
  if (!(config.rms_norm_eps > 0.0) || config.rms_norm_eps > 1.0) {
    bad(origin, "rms_norm_eps is out of range (0, 1]");
  }
  if (auto theta = finite_number(root, "rope_theta", origin)) config.rope_theta = *theta;
  if (const Json* scaling = field(root, "rope_scaling"))
    read_rope(*scaling, "rope_scaling", origin, config);
  if (const Json* parameters = field(root, "rope_parameters")) {
    read_rope(*parameters, "rope_parameters", origin, config);
  }
  if (!(config.rope_theta > 1.0)) bad(origin, "rope_theta must be > 1");
  if (const Json* tied = field(root, "tie_word_embeddings")) {
    if (!tied->is_boolean()) bad(origin, "tie_word_embeddings is not a boolean");
    config.tie_word_embeddings = tied->get<bool>();
  }
  if (const Json* act = field(root, "hidden_act")) {
    if (!act->is_string() || act->get<std::string>() != "silu") {
      throw Error(ErrorCode::kUnsupported, origin + ": hidden_act " + act->dump() + " is not silu");
    }
  }
  for (const char* bias : {"attention_bias", "mlp_bias"}) {
    if (const Json* value = field(root, bias); value && value->is_boolean() && value->get<bool>()) {
      throw Error(ErrorCode::kUnsupported, origin + ": " + bias + " is true; Llama has no biases");
    }
  }
  config.bos_token_ids = token_ids(root, "bos_token_id", origin);
  config.eos_token_ids = token_ids(root, "eos_token_id", origin);
  return config;
}

HfGenerationConfig parse_hf_generation_config(std::string_view json, const std::string& origin) {
  const Json root = parse_object(json, origin);
  HfGenerationConfig config;
  if (const Json* sample = field(root, "do_sample")) {
    if (!sample->is_boolean()) bad(origin, "do_sample is not a boolean");
    config.do_sample = sample->get<bool>();
  }
  config.temperature = finite_number(root, "temperature", origin);
  if (config.temperature && *config.temperature < 0.0) bad(origin, "temperature is negative");
  config.top_p = finite_number(root, "top_p", origin);
  if (config.top_p && (*config.top_p < 0.0 || *config.top_p > 1.0)) {
    bad(origin, "top_p is outside [0, 1]");
  }
  if (const Json* k = field(root, "top_k")) {
    if (!k->is_number_integer()) bad(origin, "top_k is not an integer");
    config.top_k = static_cast<int>(std::clamp<std::int64_t>(k->get<std::int64_t>(), 0, 1 << 30));
  }
  config.eos_token_ids = token_ids(root, "eos_token_id", origin);
  return config;
}

std::optional<std::string> parse_hf_chat_template(std::string_view json,
                                                  const std::string& origin) {
  const Json root = parse_object(json, origin);
  const Json* value = field(root, "chat_template");
  if (!value || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

}  // namespace llama3::io
