// Every rule carries an insecure example and its secure twin; they are the rule's own test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "llama3/error.hpp"
#include "llama3/safety.hpp"
#include "safety/code_rules.hpp"
#include "support/test_data.hpp"

using llama3::CodeScanner;
using llama3::safety::CodeRule;

namespace {

const CodeScanner& scanner() {
  static const CodeScanner instance = CodeScanner::with_builtin_rules();
  return instance;
}

std::vector<std::string> languages_of(const CodeRule& rule) {
  if (rule.any_language) return {"", "python", "javascript", "c"};
  std::vector<std::string> names;
  for (const auto language : rule.languages) {
    names.emplace_back(llama3::safety::language_name(language));
  }
  return names;
}

bool has_rule(const llama3::CodeScanResult& result, const std::string& id) {
  return std::any_of(result.findings.begin(), result.findings.end(),
                     [&](const auto& finding) { return finding.rule_id == id; });
}

}  // namespace

TEST_CASE("Every rule flags its insecure example and not its secure twin", "[safety]") {
  const auto rules =
      llama3::safety::parse_code_rules(llama3::safety::builtin_code_rules_json(), "builtin");
  REQUIRE(rules.size() == scanner().rule_count());
  REQUIRE(rules.size() >= 60);
  std::map<std::string, int> per_language;
  for (const auto& rule : rules) {
    INFO("rule " << rule.id);
    REQUIRE_FALSE(rule.insecure_example.empty());
    REQUIRE_FALSE(rule.secure_example.empty());
    for (const auto& language : languages_of(rule)) {
      INFO("language '" << language << "'");
      CHECK(has_rule(scanner().scan(rule.insecure_example, language), rule.id));
      CHECK_FALSE(has_rule(scanner().scan(rule.secure_example, language), rule.id));
    }
    if (rule.any_language) ++per_language["any"];
    for (const auto language : rule.languages)
      ++per_language[std::string(llama3::safety::language_name(language))];
  }
  std::ostringstream counts;
  for (const auto& [language, count] : per_language) counts << " " << language << "=" << count;
  WARN("code rules: " << rules.size() << " in total; per language:" << counts.str());
}

TEST_CASE("The compiled-in rules equal data/safety/code_rules.json", "[safety]") {
  std::ifstream file(std::string(LLAMA3_SOURCE_DIR) + "/data/safety/code_rules.json",
                     std::ios::binary);
  REQUIRE(file);
  std::ostringstream text;
  text << file.rdbuf();
  CHECK(text.str() == llama3::safety::builtin_code_rules_json());
  // The same file loads at run time into the same rule set.
  const auto from_file =
      CodeScanner::from_rules_file(std::string(LLAMA3_SOURCE_DIR) + "/data/safety/code_rules.json");
  CHECK(from_file.rule_count() == scanner().rule_count());
}

TEST_CASE("Rule files are loaded from disk and errors name the rule and field", "[safety]") {
  const auto dir = llama3::testing::scratch_dir("code-rules");
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return dir / name;
  };
  const std::string good = R"({"rules": [{"id": "demo.banned", "languages": ["python"],
      "regex": "\\bbanned\\s*\\(", "cwe_id": "CWE-676", "severity": "error",
      "description": "banned() is banned"}]})";
  const auto scanner = CodeScanner::from_rules_file(write("good.json", good));
  CHECK(scanner.rule_count() == 1);
  const auto result = scanner.scan("x = 1\nbanned(2)\n", "python");
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].line == 2);
  CHECK(result.treatment == llama3::Treatment::kBlock);

  const auto expect_error = [&](const std::string& text, const std::string& fragment) {
    INFO(text);
    try {
      CodeScanner::from_rules_file(write("bad.json", text));
      FAIL("no error");
    } catch (const llama3::Error& error) {
      CHECK(error.code() == llama3::ErrorCode::kBadFormat);
      CHECK_THAT(error.what(), Catch::Contains(fragment));
    }
  };
  auto with = [&](const std::string& from, const std::string& to) {
    auto text = good;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  expect_error(with("\\\\bbanned\\\\s*\\\\(", "(unclosed"), "demo.banned");
  expect_error(with("\"error\"", "\"fatal\""), "severity");
  expect_error(with("[\"python\"]", "[\"cobol\"]"), "cobol");
  expect_error(with("CWE-676", "676"), "cwe_id");
  expect_error(with("\\\\bbanned\\\\s*\\\\(", "x*"), "empty string");
  expect_error("{\"rules\": [", "not valid JSON");
  CHECK_THROWS_AS(CodeScanner::from_rules_file(dir / "missing.json"), llama3::Error);
}
