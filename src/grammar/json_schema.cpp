// JSON Schema to GBNF: one rule per schema node, shared base rules for JSON's own syntax.
#include "grammar/json_schema.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "grammar/gbnf_text.hpp"
#include "grammar/integer_range.hpp"
#include "grammar/regex_to_gbnf.hpp"
#include "llama3/error.hpp"

namespace llama3::grammar {
namespace {

using Json = nlohmann::ordered_json;

// JSON's own syntax. Whitespace is bounded so a sampler cannot wander into endless blanks.
constexpr const char* kBaseRules = R"(ws ::= [ \t\n]{0,8}
json-char ::= [^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
json-string ::= "\"" json-char* "\""
json-int ::= "0" | [1-9] [0-9]*
json-integer ::= "-"? json-int
json-number ::= "-"? json-int ("." [0-9]+)? ([eE] [-+]? [0-9]+)?
json-boolean ::= "true" | "false"
json-null ::= "null"
json-value ::= json-object | json-array | json-string | json-number | json-boolean | json-null
json-member ::= json-string ws ":" ws json-value
json-object ::= "{" ws (json-member ws ("," ws json-member ws)*)? "}"
json-array ::= "[" ws (json-value ws ("," ws json-value ws)*)? "]"
)";

const std::map<std::string, std::string, std::less<>> kFormats = {
    {"date", R"([0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]))"},
    {"time",
     R"(([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]))"},
    {"uuid", R"([0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12})"},
    {"ipv4", R"(ipv4-octet "." ipv4-octet "." ipv4-octet "." ipv4-octet)"},
};

const std::set<std::string, std::less<>> kAnnotations = {
    "title", "description", "default", "examples", "$schema", "$id", "$comment"};

class SchemaCompiler {
 public:
  explicit SchemaCompiler(Json root) : root_(std::move(root)) {}

  std::string compile() {
    const std::string start = visit(root_, "root-value", "");
    return "root ::= ws " + start + " ws\n" + rules_text_ + kBaseRules;
  }

 private:
  [[noreturn]] void fail(const std::string& where, const std::string& message) const {
    throw Error(ErrorCode::kInvalidArgument,
                "JSON Schema at '" + (where.empty() ? std::string("/") : where) + "': " + message);
  }

  std::string add_rule(const std::string& base, const std::string& body) {
    std::string name = base;
    for (int i = 2; used_names_.count(name) != 0; ++i) name = base + "-" + std::to_string(i);
    used_names_.insert(name);
    rules_text_ += name + " ::= " + body + "\n";
    return name;
  }

  static std::string rule_base(const std::string& hint) {
    std::string out;
    for (char c : hint) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      out += ok ? c : '-';
    }
    return out.empty() ? "value" : out;
  }

  void check_keywords(const Json& schema, const std::string& where,
                      std::initializer_list<const char*> handled) const {
    for (const auto& [key, value] : schema.items()) {
      if (kAnnotations.count(key) != 0 || key == "$defs" || key == "definitions") continue;
      bool known = false;
      for (const char* h : handled) known = known || key == h;
      if (!known) fail(where, "the keyword '" + key + "' is not supported here");
    }
  }

  // A GBNF expression (usually a rule name) for `schema`.
  std::string visit(const Json& schema, const std::string& hint, const std::string& where) {
    struct DepthGuard {
      int& depth;
      explicit DepthGuard(int& d) : depth(d) { ++depth; }
      ~DepthGuard() { --depth; }
    } guard(depth_);
    if (depth_ > kMaxSchemaDepth) {
      fail(where, "schemas nested deeper than " + std::to_string(kMaxSchemaDepth) + " levels");
    }
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) fail(where, "the schema 'false' allows no value");
      return "json-value";
    }
    if (!schema.is_object()) fail(where, "a schema must be an object or a boolean");
    if (schema.contains("$ref")) {
      check_keywords(schema, where, {"$ref"});
      return visit_ref(schema["$ref"], where);
    }
    if (schema.contains("const")) {
      check_keywords(schema, where, {"const", "type"});
      return gbnf_literal(schema["const"].dump());
    }
    if (schema.contains("enum")) {
      check_keywords(schema, where, {"enum", "type"});
      const Json& values = schema["enum"];
      if (!values.is_array() || values.empty()) fail(where, "'enum' must be a non-empty array");
      std::string body;
      for (const auto& value : values)
        body += (body.empty() ? "" : " | ") + gbnf_literal(value.dump());
      return add_rule(rule_base(hint), body);
    }
    for (const char* combiner : {"anyOf", "oneOf"}) {
      if (!schema.contains(combiner)) continue;
      check_keywords(schema, where, {combiner});
      const Json& branches = schema[combiner];
      if (!branches.is_array() || branches.empty()) {
        fail(where, std::string("'") + combiner + "' must be a non-empty array");
      }
      std::string body;
      for (std::size_t i = 0; i < branches.size(); ++i) {
        const std::string branch = visit(branches[i], hint + "-" + std::to_string(i),
                                         where + "/" + combiner + "/" + std::to_string(i));
        body += (body.empty() ? "" : " | ") + branch;
      }
      return add_rule(rule_base(hint), body);
    }
    if (schema.contains("allOf")) {
      check_keywords(schema, where, {"allOf"});
      const Json& parts = schema["allOf"];
      if (!parts.is_array() || parts.size() != 1) {
        fail(where, "'allOf' is supported only with a single schema");
      }
      return visit(parts[0], hint, where + "/allOf/0");
    }
    if (!schema.contains("type")) {
      if (schema.contains("properties") || schema.contains("additionalProperties") ||
          schema.contains("required")) {
        return visit_object(schema, hint, where);
      }
      if (schema.contains("items")) return visit_array(schema, hint, where);
      check_keywords(schema, where, {});
      return "json-value";
    }
    const Json& type = schema["type"];
    if (type.is_array()) {
      std::string body;
      for (const auto& t : type) {
        Json single = schema;
        single["type"] = t;
        body += (body.empty() ? "" : " | ") + visit_typed(single, t, hint, where);
      }
      if (body.empty()) fail(where, "'type' is an empty list");
      return add_rule(rule_base(hint), body);
    }
    return visit_typed(schema, type, hint, where);
  }

  std::string visit_typed(const Json& schema, const Json& type, const std::string& hint,
                          const std::string& where) {
    if (!type.is_string()) fail(where, "'type' must be a string or a list of strings");
    const std::string name = type.get<std::string>();
    if (name == "object") return visit_object(schema, hint, where);
    if (name == "array") return visit_array(schema, hint, where);
    if (name == "string") return visit_string(schema, hint, where);
    if (name == "integer") return visit_integer(schema, hint, where);
    if (name == "number") {
      check_keywords(schema, where, {"type"});
      return "json-number";
    }
    if (name == "boolean") {
      check_keywords(schema, where, {"type"});
      return "json-boolean";
    }
    if (name == "null") {
      check_keywords(schema, where, {"type"});
      return "json-null";
    }
    fail(where, "unknown type '" + name + "'");
  }

  std::string visit_ref(const Json& ref, const std::string& where) {
    if (!ref.is_string()) fail(where, "'$ref' must be a string");
    const std::string target = ref.get<std::string>();
    if (auto it = ref_rules_.find(target); it != ref_rules_.end()) return it->second;
    if (target.rfind("#", 0) != 0)
      fail(where, "only local references ('#/...') are supported: " + target);
    const Json* resolved = nullptr;
    try {
      resolved = &root_.at(Json::json_pointer(target.substr(1)));
    } catch (const std::exception&) {
      fail(where, "the reference '" + target + "' does not resolve");
    }
    // Named before it is visited, so a recursive schema refers to its own rule.
    std::string name = rule_base("ref" + target.substr(1));
    for (int i = 2; used_names_.count(name) != 0; ++i)
      name = rule_base("ref" + target.substr(1)) + "-" + std::to_string(i);
    used_names_.insert(name);
    ref_rules_.emplace(target, name);
    const std::string body = visit(*resolved, name + "-body", target.substr(1));
    rules_text_ += name + " ::= " + body + "\n";
    return name;
  }

  std::string visit_object(const Json& schema, const std::string& hint, const std::string& where) {
    check_keywords(schema, where, {"type", "properties", "required", "additionalProperties"});
    const Json empty = Json::object();
    const Json& properties = schema.contains("properties") ? schema["properties"] : empty;
    if (!properties.is_object()) fail(where, "'properties' must be an object");
    std::set<std::string> required;
    if (schema.contains("required")) {
      for (const auto& r : schema["required"]) {
        if (!r.is_string()) fail(where, "'required' must list strings");
        if (!properties.contains(r.get<std::string>())) {
          fail(where, "the required property '" + r.get<std::string>() +
                          "' is not in 'properties' (not supported)");
        }
        required.insert(r.get<std::string>());
      }
    }
    // Extra members: none unless additionalProperties allows them. Without 'properties' an
    // object schema with nothing else allows any members.
    std::string extra;
    if (schema.contains("additionalProperties")) {
      const Json& additional = schema["additionalProperties"];
      if (!(additional.is_boolean() && !additional.get<bool>())) {
        extra = "json-string ws \":\" ws " +
                visit(additional, hint + "-additional", where + "/additionalProperties");
      }
    } else if (properties.empty()) {
      extra = "json-string ws \":\" ws json-value";
    }
    std::vector<std::string> members;
    std::vector<bool> is_required;
    for (const auto& [key, subschema] : properties.items()) {
      const std::string value = visit(subschema, hint + "-" + key, where + "/properties/" + key);
      members.push_back(gbnf_literal(Json(key).dump()) + " ws \":\" ws " + value);
      is_required.push_back(required.count(key) != 0);
    }
    // first(i): the members from i on, comma-separated, the first present one without a comma.
    // tail(i): the members from i on, each with its leading comma.
    const std::string base = rule_base(hint);
    std::vector<std::string> tails(members.size() + 1);
    std::string after = extra.empty() ? "" : "(\",\" ws " + extra + " ws)*";
    tails[members.size()] = after;
    for (std::size_t i = members.size(); i-- > 0;) {
      const std::string one = "\",\" ws " + members[i] + " ws";
      std::string body = is_required[i] ? one : "(" + one + ")?";
      if (!tails[i + 1].empty()) body += " " + tails[i + 1];
      tails[i] = add_rule(base + "-tail", body);
    }
    std::vector<std::string> firsts;
    bool all_optional = true;
    for (std::size_t i = 0; i < members.size(); ++i) {
      firsts.push_back(members[i] + " ws " + tails[i + 1]);
      if (is_required[i]) {
        all_optional = false;
        break;
      }
    }
    if (all_optional && !extra.empty()) firsts.push_back(extra + " ws " + after);
    std::string body = "\"{\" ws ";
    if (firsts.empty()) {
      body += "\"}\"";
    } else {
      std::string choice;
      for (const auto& f : firsts) choice += (choice.empty() ? "" : " | ") + f;
      body += "(" + choice + ")" + (all_optional ? "?" : "") + " \"}\"";
    }
    return add_rule(base, body);
  }

  std::string visit_array(const Json& schema, const std::string& hint, const std::string& where) {
    check_keywords(schema, where, {"type", "items", "minItems", "maxItems"});
    const std::string item = schema.contains("items")
                                 ? visit(schema["items"], hint + "-item", where + "/items")
                                 : "json-value";
    const std::uint64_t min_items = count(schema, "minItems", 0, where);
    const std::uint64_t max_items = count(schema, "maxItems", kUnbounded, where);
    if (max_items != kUnbounded && max_items < min_items) fail(where, "maxItems < minItems");
    std::string body = "\"[\" ws ";
    if (max_items == 0) return add_rule(rule_base(hint), body + "\"]\"");
    const std::uint64_t rest_min = min_items > 0 ? min_items - 1 : 0;
    std::string rest = "(\",\" ws " + item + " ws){" + std::to_string(rest_min) + ",";
    if (max_items != kUnbounded) rest += std::to_string(max_items - 1);
    rest += "}";
    const std::string list = item + " ws " + rest;
    body += (min_items == 0 ? "(" + list + ")?" : list) + " \"]\"";
    return add_rule(rule_base(hint), body);
  }

  std::string visit_string(const Json& schema, const std::string& hint, const std::string& where) {
    check_keywords(schema, where, {"type", "minLength", "maxLength", "pattern", "format"});
    if (schema.contains("pattern")) {
      if (schema.contains("format") || schema.contains("minLength") ||
          schema.contains("maxLength")) {
        fail(where, "'pattern' together with 'format' or a length is not supported");
      }
      const Json& pattern = schema["pattern"];
      if (!pattern.is_string()) fail(where, "'pattern' must be a string");
      std::string text = pattern.get<std::string>();
      const bool anchored_start = !text.empty() && text.front() == '^';
      std::size_t backslashes = 0;
      for (std::size_t i = text.size(); i-- > 1 && text[i - 1] == '\\';) ++backslashes;
      const bool anchored_end = !text.empty() && text.back() == '$' && backslashes % 2 == 0;
      std::string body = "\"\\\"\" ";
      if (!anchored_start) body += "json-char* ";
      body += "(" + regex_to_gbnf_expression(text, RegexTarget::kJsonString) + ")";
      if (!anchored_end) body += " json-char*";
      return add_rule(rule_base(hint), body + " \"\\\"\"");
    }
    if (schema.contains("format")) {
      if (schema.contains("minLength") || schema.contains("maxLength")) {
        fail(where, "'format' together with a length is not supported");
      }
      const std::string format =
          schema["format"].is_string() ? schema["format"].get<std::string>() : "";
      std::string inner;
      if (format == "date-time") {
        inner = kFormats.at("date") + " \"T\" " + kFormats.at("time");
      } else if (auto it = kFormats.find(format); it != kFormats.end()) {
        inner = it->second;
      } else {
        fail(where, "the string format '" + format + "' is not supported");
      }
      if (format == "ipv4" && used_names_.insert("ipv4-octet").second) {
        rules_text_ +=
            "ipv4-octet ::= \"25\" [0-5] | \"2\" [0-4] [0-9] | \"1\" [0-9] [0-9] | [1-9] [0-9] | "
            "[0-9]\n";
      }
      return add_rule(rule_base(hint), "\"\\\"\" " + inner + " \"\\\"\"");
    }
    const std::uint64_t min_length = count(schema, "minLength", 0, where);
    const std::uint64_t max_length = count(schema, "maxLength", kUnbounded, where);
    if (min_length == 0 && max_length == kUnbounded) return "json-string";
    if (max_length != kUnbounded && max_length < min_length) fail(where, "maxLength < minLength");
    std::string body = "\"\\\"\" json-char{" + std::to_string(min_length) + ",";
    if (max_length != kUnbounded) body += std::to_string(max_length);
    return add_rule(rule_base(hint), body + "} \"\\\"\"");
  }

  std::string visit_integer(const Json& schema, const std::string& hint, const std::string& where) {
    check_keywords(schema, where,
                   {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"});
    std::optional<std::int64_t> lo, hi;
    auto bound = [&](const char* key, std::int64_t shift, bool lower) {
      if (!schema.contains(key)) return;
      const Json& v = schema[key];
      if (!v.is_number()) fail(where, std::string("'") + key + "' must be a number");
      const double d = v.get<double>();
      if (!(d > -9e15 && d < 9e15)) fail(where, std::string("'") + key + "' is out of range");
      // Round inward for a fractional bound.
      auto whole = static_cast<std::int64_t>(lower ? std::ceil(d) : std::floor(d));
      if (whole == d) whole += shift;
      auto& target = lower ? lo : hi;
      target = target ? (lower ? std::max(*target, whole) : std::min(*target, whole)) : whole;
    };
    bound("minimum", 0, true);
    bound("exclusiveMinimum", 1, true);
    bound("maximum", 0, false);
    bound("exclusiveMaximum", -1, false);
    if (!lo && !hi) return "json-integer";
    if (lo && hi && *lo > *hi) fail(where, "no integer lies within the bounds");
    return add_rule(rule_base(hint), integer_range_gbnf(lo, hi));
  }

  static constexpr std::uint64_t kUnbounded = std::numeric_limits<std::uint64_t>::max();

  std::uint64_t count(const Json& schema, const char* key, std::uint64_t fallback,
                      const std::string& where) const {
    if (!schema.contains(key)) return fallback;
    const Json& v = schema[key];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
      fail(where, std::string("'") + key + "' must be a non-negative integer");
    }
    const auto n = v.get<std::uint64_t>();
    if (n > 10000) fail(where, std::string("'") + key + "' above 10000 is not supported");
    return n;
  }

  static constexpr int kMaxSchemaDepth = 100;
  int depth_ = 0;
  Json root_;
  std::string rules_text_;
  std::set<std::string> used_names_{"root",      "ws",           "json-char",   "json-string",
                                    "json-int",  "json-integer", "json-number", "json-boolean",
                                    "json-null", "json-value",   "json-member", "json-object",
                                    "json-array"};
  std::map<std::string, std::string> ref_rules_;
};

}  // namespace

std::string json_schema_to_gbnf(std::string_view schema) {
  Json root;
  try {
    root = Json::parse(schema);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("JSON Schema is not valid JSON: ") + e.what());
  }
  return SchemaCompiler(std::move(root)).compile();
}

}  // namespace llama3::grammar
