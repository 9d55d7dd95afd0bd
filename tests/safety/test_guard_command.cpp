// `llama3 guard`: its output format and exit status (0 safe, 1 unsafe, 2 malformed or usage) are
// its contract with scripts. The model has random weights and the real Llama 3 vocabulary, so the
// verdict itself is whatever it is; the tests check that output and exit status agree with it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "support/run_tool.hpp"
#include "support/test_models.hpp"

using llama3::testing::run_tool;

namespace {

std::string random_guard_model() {
  llama3::testing::require_data_file("ggml-vocab-llama-bpe.gguf");  // make_test_model reads it
  static const auto path = llama3::testing::make_test_model(
      "--vocab llama3 --type q8_0 --tied --layers 1 --seed 11", "random-guard.gguf");
  return path.string();
}

int exit_code_for(const std::string& verdict) {
  if (verdict == "safe") return 0;
  if (verdict == "unsafe") return 1;
  return 2;
}

}  // namespace

TEST_CASE(
    "llama3 guard prints verdict, categories and probability, exit status follows the verdict",
    "[safety][data]") {
  const auto run = run_tool("guard -m " + random_guard_model() +
                                " --version 3 --threads 2 --prompt 'How do I bake bread?'",
                            "guard-command-text");
  INFO(run.out << run.err);
  std::istringstream lines(run.out);
  std::string verdict, categories, probability, model, raw;
  std::getline(lines, verdict);
  std::getline(lines, categories);
  std::getline(lines, probability);
  std::getline(lines, model);
  std::getline(lines, raw);
  REQUIRE(verdict.starts_with("verdict: "));
  verdict = verdict.substr(9);
  CHECK((verdict == "safe" || verdict == "unsafe" || verdict == "malformed"));
  CHECK(run.exit_code == exit_code_for(verdict));
  CHECK(categories.starts_with("categories: "));
  if (verdict != "unsafe") CHECK(categories == "categories: -");
  REQUIRE(probability.starts_with("P(unsafe): "));
  const double p = std::stod(probability.substr(11));
  CHECK(p >= 0.0);
  CHECK(p <= 1.0);
  CHECK(probability.find("(threshold 0.50)") != std::string::npos);
  CHECK(model == "model: Llama Guard 3");
  CHECK(raw.starts_with("raw: \""));
}

TEST_CASE("llama3 guard --json classifies a response", "[safety][data]") {
  const auto run = run_tool("guard -m " + random_guard_model() +
                                " --version 2 --threads 2 --json --threshold 0.25"
                                " --prompt 'Hi' --response 'Hello! How can I help?'",
                            "guard-command-json");
  INFO(run.out << run.err);
  const auto json = nlohmann::json::parse(run.out);
  const std::string verdict = json.at("verdict");
  CHECK(run.exit_code == exit_code_for(verdict));
  CHECK(json.at("version") == "guard2");
  CHECK(json.at("threshold").get<double>() == Approx(0.25));
  const double p = json.at("unsafe_probability");
  CHECK(p >= 0.0);
  CHECK(p <= 1.0);
  CHECK(json.at("categories").is_array());
  CHECK(json.at("raw").is_string());
}

TEST_CASE("llama3 guard exits 2 on usage errors and an unknown Guard version", "[safety][data]") {
  const std::string model = random_guard_model();
  CHECK(run_tool("guard --prompt hi", "guard-command-usage").exit_code == 2);
  CHECK(run_tool("guard -m " + model + " --version 3", "guard-command-usage").exit_code == 2);
  CHECK(
      run_tool("guard -m " + model + " --version 4 --prompt hi", "guard-command-usage").exit_code ==
      2);
  // The test model's name (llama3-random-tiny-q8_0, random-guard.gguf) names no Guard version.
  const auto unnamed = run_tool("guard -m " + model + " --prompt hi", "guard-command-usage");
  CHECK(unnamed.exit_code == 2);
  CHECK(unnamed.err.find("--version") != std::string::npos);
  CHECK(run_tool("guard -m /nonexistent.gguf --version 3 --prompt hi", "guard-command-usage")
            .exit_code == 2);
}
