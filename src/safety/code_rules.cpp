#include "safety/code_rules.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "llama3/error.hpp"

namespace llama3::safety {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kBadFormat, where + ": " + what);
}

std::string required_string(const json& rule, const char* key, const std::string& where) {
  const auto it = rule.find(key);
  if (it == rule.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    fail(where, std::string("field '") + key + "' must be a non-empty string");
  }
  return it->get<std::string>();
}

std::string optional_string(const json& rule, const char* key, const std::string& where) {
  const auto it = rule.find(key);
  if (it == rule.end()) return {};
  if (!it->is_string()) fail(where, std::string("field '") + key + "' must be a string");
  return it->get<std::string>();
}

bool valid_rule_id(const std::string& id) {
  for (const char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool valid_cwe(const std::string& cwe) {
  if (cwe.size() < 5 || !cwe.starts_with("CWE-")) return false;
  for (std::size_t i = 4; i < cwe.size(); ++i) {
    if (cwe[i] < '0' || cwe[i] > '9') return false;
  }
  return true;
}

Severity parse_severity(const std::string& name, const std::string& where) {
  if (name == "error") return Severity::kError;
  if (name == "warning") return Severity::kWarning;
  if (name == "advice") return Severity::kAdvice;
  fail(where, "severity '" + name + "' is not error, warning or advice");
}

CodeRule parse_rule(const json& entry, const std::string& where) {
  if (!entry.is_object()) fail(where, "a rule must be a JSON object");
  CodeRule rule;
  rule.id = required_string(entry, "id", where);
  const std::string at = where + " (" + rule.id + ")";
  if (!valid_rule_id(rule.id)) fail(at, "id may hold only a-z, 0-9, '.', '-' and '_'");

  const auto languages = entry.find("languages");
  if (languages == entry.end() || !languages->is_array() || languages->empty()) {
    fail(at, "field 'languages' must be a non-empty array");
  }
  for (const auto& name : *languages) {
    if (!name.is_string()) fail(at, "field 'languages' must hold strings");
    const auto& text = name.get_ref<const std::string&>();
    if (text == "any") {
      rule.any_language = true;
    } else if (const auto language = parse_language(text)) {
      rule.languages.push_back(*language);
    } else {
      fail(at, "unknown language '" + text + "'");
    }
  }
  if (rule.any_language && !rule.languages.empty()) {
    fail(at, "'any' cannot be combined with named languages");
  }

  rule.regex = required_string(entry, "regex", at);
  rule.unless = optional_string(entry, "unless", at);
  const std::string scope = optional_string(entry, "scope", at);
  if (scope.empty() || scope == "code") {
    rule.scope = RuleScope::kCode;
  } else if (scope == "code_and_strings") {
    rule.scope = RuleScope::kCodeAndStrings;
  } else {
    fail(at, "scope '" + scope + "' is not code or code_and_strings");
  }
  rule.cwe_id = required_string(entry, "cwe_id", at);
  if (!valid_cwe(rule.cwe_id)) fail(at, "cwe_id '" + rule.cwe_id + "' is not of the form CWE-<n>");
  rule.severity = parse_severity(required_string(entry, "severity", at), at);
  rule.description = required_string(entry, "description", at);
  rule.insecure_example = optional_string(entry, "insecure_example", at);
  rule.secure_example = optional_string(entry, "secure_example", at);
  return rule;
}

}  // namespace

std::vector<CodeRule> parse_code_rules(std::string_view json_text, const std::string& origin) {
  json document;
  try {
    document = json::parse(json_text);
  } catch (const json::parse_error& error) {
    fail(origin, std::string("not valid JSON: ") + error.what());
  }
  if (!document.is_object() || !document.contains("rules") || !document["rules"].is_array()) {
    fail(origin, "expected an object with a 'rules' array");
  }
  std::vector<CodeRule> rules;
  std::set<std::string> seen;
  const auto& entries = document["rules"];
  for (std::size_t i = 0; i < entries.size(); ++i) {
    rules.push_back(parse_rule(entries[i], origin + ": rules[" + std::to_string(i) + "]"));
    if (!seen.insert(rules.back().id).second) {
      fail(origin, "rule id '" + rules.back().id + "' appears twice");
    }
  }
  return rules;
}

}  // namespace llama3::safety
