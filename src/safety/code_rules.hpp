// The scanner's rule set as data: the JSON format of data/safety/code_rules.json, parsed and
// checked field by field. Patterns stay strings here; the scanner compiles them with RE2.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llama3/safety.hpp"
#include "safety/languages.hpp"

namespace llama3::safety {

// Which view of the source a rule's pattern runs on (see source_lexer.hpp).
enum class RuleScope {
  kCode,            // comments and string contents blanked: a function named in a string is no call
  kCodeAndStrings,  // only comments blanked: for SQL text, algorithm names, secrets in literals
};

struct CodeRule {
  std::string id;
  std::vector<Language> languages;  // empty when any_language
  bool any_language = false;  // "languages": ["any"] — secrets and keys, checked for every language
  std::string regex;          // RE2 syntax
  std::string unless;         // optional RE2: a match whose text also matches this is dropped
  RuleScope scope = RuleScope::kCode;
  std::string cwe_id;
  Severity severity = Severity::kWarning;
  std::string description;
  std::string insecure_example;  // must give a finding of this rule
  std::string secure_example;    // must give none of this rule
};

// Parses a rule file's text. `origin` names it in errors. Throws llama3::Error(kBadFormat) naming
// the rule and field at fault. Regex syntax is checked by the scanner when it compiles the rules.
std::vector<CodeRule> parse_code_rules(std::string_view json_text, const std::string& origin);

// The rule file compiled into the library (generated from data/safety/code_rules.json by CMake).
std::string_view builtin_code_rules_json();

}  // namespace llama3::safety
