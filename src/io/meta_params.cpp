#include "io/meta_params.hpp"

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

const Json* field(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// Sizes stay far below int range so products of two of them cannot overflow.
constexpr std::int64_t kMaxSize = std::int64_t{1} << 24;

int size_field(const Json& object, const char* key, const std::string& origin,
               std::optional<int> fallback = std::nullopt) {
  const Json* value = field(object, key);
  if (!value) {
    if (fallback) return *fallback;
    bad(origin, std::string("missing ") + key);
  }
  if (!value->is_number_integer() || value->get<std::int64_t>() <= 0 ||
      value->get<std::int64_t>() > kMaxSize) {
    bad(origin, std::string(key) + " = " + value->dump() + " is not an integer in 1.." +
                    std::to_string(kMaxSize));
  }
  return value->get<int>();
}

std::optional<double> positive_number(const Json& object, const char* key,
                                      const std::string& origin) {
  const Json* value = field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_number() || !std::isfinite(value->get<double>()) || value->get<double>() <= 0) {
    bad(origin, std::string(key) + " = " + value->dump() + " is not a positive number");
  }
  return value->get<double>();
}

}  // namespace

MetaParams parse_meta_params(std::string_view json, const std::string& origin) {
  Json root;
  try {
    root = Json::parse(json);
  } catch (const Json::exception& error) {
    bad(origin, std::string("not valid JSON: ") + error.what());
  }
  if (!root.is_object()) bad(origin, "not a JSON object");
  MetaParams params;
  params.dim = size_field(root, "dim", origin);
  params.n_layers = size_field(root, "n_layers", origin);
  params.n_heads = size_field(root, "n_heads", origin);
  params.n_kv_heads = size_field(root, "n_kv_heads", origin, params.n_heads);
  if (const Json* vocab = field(root, "vocab_size"); vocab && *vocab != -1) {
    params.vocab_size = size_field(root, "vocab_size", origin);
  }
  params.multiple_of = size_field(root, "multiple_of", origin, params.multiple_of);
  params.ffn_dim_multiplier = positive_number(root, "ffn_dim_multiplier", origin);
  if (params.ffn_dim_multiplier && *params.ffn_dim_multiplier > 64) {
    bad(origin, "ffn_dim_multiplier " + std::to_string(*params.ffn_dim_multiplier) + " > 64");
  }
  params.norm_eps = positive_number(root, "norm_eps", origin).value_or(params.norm_eps);
  params.rope_theta = positive_number(root, "rope_theta", origin).value_or(params.rope_theta);
  if (const Json* scaled = field(root, "use_scaled_rope")) {
    if (!scaled->is_boolean())
      bad(origin, "use_scaled_rope = " + scaled->dump() + " is not a bool");
    params.use_scaled_rope = scaled->get<bool>();
  }
  params.rope_scaling_factor =
      positive_number(root, "rope_scaling_factor", origin).value_or(params.rope_scaling_factor);
  params.rope_high_freq_factor =
      positive_number(root, "rope_high_freq_factor", origin).value_or(params.rope_high_freq_factor);
  if (field(root, "max_seq_len")) params.max_seq_len = size_field(root, "max_seq_len", origin);
  if (params.n_heads % params.n_kv_heads != 0) {
    bad(origin, "n_heads (" + std::to_string(params.n_heads) +
                    ") is not a multiple of n_kv_heads (" + std::to_string(params.n_kv_heads) +
                    ")");
  }
  if (params.dim % params.n_heads != 0 || (params.dim / params.n_heads) % 2 != 0) {
    bad(origin, "dim " + std::to_string(params.dim) + " is not an even head size times n_heads " +
                    std::to_string(params.n_heads));
  }
  return params;
}

int meta_ffn_dim(const MetaParams& params, const std::string& origin) {
  std::int64_t hidden = 4 * static_cast<std::int64_t>(params.dim);
  hidden = 2 * hidden / 3;
  if (params.ffn_dim_multiplier) {
    hidden = static_cast<std::int64_t>(*params.ffn_dim_multiplier * static_cast<double>(hidden));
  }
  const std::int64_t m = params.multiple_of;
  hidden = m * ((hidden + m - 1) / m);
  if (hidden <= 0 || hidden > std::numeric_limits<int>::max()) {
    bad(origin, "the FFN size from dim, ffn_dim_multiplier and multiple_of is out of range");
  }
  return static_cast<int>(hidden);
}

}  // namespace llama3::io
