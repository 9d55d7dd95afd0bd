#include "io/lora_config.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "llama3/error.hpp"

namespace llama3::io {
namespace {

using Json = nlohmann::json;

[[noreturn]] void fail(ErrorCode code, const std::string& origin, const std::string& what) {
  throw Error(code, origin + ": " + what);
}

const Json* field(const Json& object, const std::string& key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

bool flag(const Json& object, const std::string& key, const std::string& origin) {
  const Json* value = field(object, key);
  if (!value) return false;
  if (!value->is_boolean()) {
    fail(ErrorCode::kBadFormat, origin, key + " = " + value->dump() + " is not true or false");
  }
  return value->get<bool>();
}

// rank_pattern / alpha_pattern: per-module overrides; an empty object is the same as none.
void refuse_nonempty(const Json& object, const std::string& key, const std::string& origin) {
  const Json* value = field(object, key);
  if (value && !(value->is_object() && value->empty())) {
    fail(ErrorCode::kUnsupported, origin,
         key + " (per-module ranks or alphas) is not supported; merge with PEFT first");
  }
}

}  // namespace

LoraConfig parse_lora_config(std::string_view json_text, const std::string& origin) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::exception& error) {
    fail(ErrorCode::kBadFormat, origin, std::string("not valid JSON: ") + error.what());
  }
  if (!root.is_object()) fail(ErrorCode::kBadFormat, origin, "not a JSON object");

  if (const Json* type = field(root, "peft_type");
      type && !(type->is_string() && type->get<std::string>() == "LORA")) {
    fail(ErrorCode::kUnsupported, origin,
         "peft_type = " + type->dump() + ": only LORA adapters are supported");
  }
  LoraConfig config;
  const Json* rank = field(root, "r");
  if (!rank) fail(ErrorCode::kBadFormat, origin, "missing r (the adapter's rank)");
  if (!rank->is_number_integer() || rank->get<std::int64_t>() <= 0 ||
      rank->get<std::int64_t>() > 65536) {
    fail(ErrorCode::kBadFormat, origin, "r = " + rank->dump() + " is not a rank in 1..65536");
  }
  config.rank = rank->get<int>();
  const Json* alpha = field(root, "lora_alpha");
  if (!alpha) fail(ErrorCode::kBadFormat, origin, "missing lora_alpha");
  if (!alpha->is_number() || !std::isfinite(alpha->get<double>())) {
    fail(ErrorCode::kBadFormat, origin,
         "lora_alpha = " + alpha->dump() + " is not a finite number");
  }
  config.alpha = alpha->get<double>();
  config.use_rslora = flag(root, "use_rslora", origin);
  if (flag(root, "use_dora", origin)) {
    fail(ErrorCode::kUnsupported, origin, "use_dora: DoRA adapters are not supported");
  }
  if (flag(root, "fan_in_fan_out", origin)) {
    fail(ErrorCode::kUnsupported, origin,
         "fan_in_fan_out: transposed (Conv1D) adapters do not apply to Llama");
  }
  refuse_nonempty(root, "rank_pattern", origin);
  refuse_nonempty(root, "alpha_pattern", origin);
  if (const Json* bias = field(root, "bias");
      bias && !(bias->is_string() && bias->get<std::string>() == "none")) {
    fail(ErrorCode::kUnsupported, origin,
         "bias = " + bias->dump() + ": Llama has no biases; only \"none\" is supported");
  }
  if (const Json* targets = field(root, "target_modules")) {
    if (targets->is_array()) {
      std::vector<std::string> names;
      for (const auto& name : *targets) {
        if (!name.is_string()) {
          fail(ErrorCode::kBadFormat, origin,
               "target_modules holds " + name.dump() + ", not a module name");
        }
        names.push_back(name.get<std::string>());
      }
      config.target_modules = std::move(names);
    } else if (!targets->is_string()) {
      fail(ErrorCode::kBadFormat, origin,
           "target_modules = " + targets->dump() + " is neither a list nor a string");
    }
  }
  return config;
}

}  // namespace llama3::io
