// `llama3 generate` / `chat` with --grammar, --json-schema, --regex and --logprobs: outputs of the
// constrained shape over several seeds, clear errors, and logprobs that equal the log-softmax of
// the logits the tool dumps (--dump-logits) for the first generated token.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "cli/cli_test_support.hpp"
#include "support/test_models.hpp"

using namespace llama3::testing;

namespace {

const char* kPerson =
    R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 8},)"
    R"( "age": {"type": "integer", "minimum": 0, "maximum": 120}}, "required": ["name", "age"]})";

std::string write_scratch(const std::string& scratch, const std::string& name,
                          const std::string& text) {
  const auto path = scratch_dir(scratch) / name;
  std::ofstream(path) << text;
  return path.string();
}

void check_person(const std::string& text) {
  INFO(text);
  nlohmann::json person;
  REQUIRE_NOTHROW(person = nlohmann::json::parse(text));
  REQUIRE(person.is_object());
  CHECK(person.size() == 2);
  REQUIRE(person["name"].is_string());
  REQUIRE(person["age"].is_number_integer());
  CHECK(person["age"].get<int>() >= 0);
  CHECK(person["age"].get<int>() <= 120);
}

}  // namespace

TEST_CASE("generate --json-schema (inline or a file) gives JSON valid under the schema",
          "[cli][data]") {
  const auto file = write_scratch("cli-json-schema-files", "person.json", kPerson);
  for (int seed = 1; seed <= 4; ++seed) {
    const std::string schema = seed % 2 ? quoted(kPerson) : quoted(file);
    const auto json = run_json("generate " + stories_arg() + " -p 'Once' -n 120 --temp 1 -s " +
                                   std::to_string(seed) + " --json-schema " + schema + " -o json",
                               "cli-json-schema");
    CHECK(json["stop_reason"] == "end_of_generation");
    check_person(json["text"].get<std::string>());
  }
}

TEST_CASE("generate --grammar FILE and --regex constrain the text output", "[cli][data]") {
  const auto gbnf =
      write_scratch("cli-grammar-files", "number.gbnf", "root ::= \"n=\" [0-9]{2,3}\n");
  const auto run = run_tool(
      "generate " + stories_arg() + " -p 'Once' -n 20 --temp 1 -s 3 " + "--grammar " + quoted(gbnf),
      "cli-grammar");
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(std::regex_match(run.out, std::regex("Oncen=[0-9]{2,3}\n")));

  const auto regex =
      run_json("generate " + stories_arg() +
                   " -p 'Once' -n 20 --temp 1 -s 4 --regex '[a-z]{2,4}-[0-9]' -o json",
               "cli-grammar");
  CHECK(std::regex_match(regex["text"].get<std::string>(), std::regex("[a-z]{2,4}-[0-9]")));
}

TEST_CASE("structured-output options refuse bad input with a clear message", "[cli][data]") {
  const auto bad = write_scratch("cli-grammar-error-files", "bad.gbnf", "root ::= \"a\" (\n");
  auto run = run_tool("generate " + stories_arg() + " -p 'Once' --grammar " + quoted(bad),
                      "cli-grammar-errors");
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("--grammar") != std::string::npos);
  CHECK(run.err.find("GBNF line 2") != std::string::npos);
  run = run_tool("generate " + stories_arg() +
                     " -p 'Once' --json-schema '{\"type\": \"number\", \"multipleOf\": 2}'",
                 "cli-grammar-errors");
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("multipleOf") != std::string::npos);
  run = run_tool("generate " + stories_arg() + " -p 'Once' --json-schema /nonexistent.json",
                 "cli-grammar-errors");
  CHECK(run.exit_code != 0);
  CHECK(run.err.find("/nonexistent.json") != std::string::npos);
  run_usage_error("generate " + stories_arg() + " --grammar " + quoted(bad) + " --regex 'a'",
                  "cli-grammar-errors");
  run = run_usage_error("generate " + stories_arg() + " -p 'Once' --logprobs 2",
                        "cli-grammar-errors");
  CHECK(run.err.find("-o json") != std::string::npos);
  run_usage_error("generate " + stories_arg() + " --logprobs 21 -o json", "cli-grammar-errors");
}

TEST_CASE("generate --logprobs: per token, its logprob and the top N, from the model's logits",
          "[cli][data]") {
  const auto logits_path = scratch_dir("cli-logprobs-files") / "logits.bin";
  const auto json = run_json("generate " + stories_arg() +
                                 " -p 'Once upon a time' -n 6 --temp 1 -s 9 --logprobs 3 -o json "
                                 "--dump-logits " +
                                 quoted(logits_path.string()),
                             "cli-logprobs");
  const auto& tokens = json["tokens"];
  const auto& logprobs = json["logprobs"];
  REQUIRE(logprobs.size() == tokens.size());
  for (std::size_t i = 0; i < logprobs.size(); ++i) {
    const auto& entry = logprobs[i];
    CHECK(entry["token"] == tokens[i]);
    CHECK(entry["text"].is_string());
    CHECK(entry["logprob"].get<double>() <= 0.0);
    REQUIRE(entry["top_logprobs"].size() == 3);
    CHECK(entry["top_logprobs"][0]["logprob"].get<double>() >=
          entry["top_logprobs"][1]["logprob"].get<double>());
    CHECK(entry["logprob"].get<double>() <=
          entry["top_logprobs"][0]["logprob"].get<double>() + 1e-6);
  }
  // The first token's figures against a log-softmax of the logits after the prompt.
  std::ifstream in(logits_path, std::ios::binary);
  std::vector<float> logits;
  for (float value; in.read(reinterpret_cast<char*>(&value), sizeof value);)
    logits.push_back(value);
  REQUIRE(!logits.empty());
  double sum = 0.0;
  for (float logit : logits) sum += std::exp(static_cast<double>(logit));
  const auto expected = [&](int id) { return std::log(std::exp(double{logits[id]}) / sum); };
  const auto& first = logprobs[0];
  CHECK(first["logprob"].get<double>() == Approx(expected(first["token"].get<int>())).margin(1e-4));
  for (const auto& top : first["top_logprobs"]) {
    CHECK(top["logprob"].get<double>() == Approx(expected(top["token"].get<int>())).margin(1e-4));
  }
}

TEST_CASE("chat --json-schema constrains every answer, each starting the grammar afresh",
          "[cli][data]") {
  require_data_file("ggml-vocab-llama-bpe.gguf");  // make_test_model reads it
  const auto path =
      make_test_model("--vocab llama3 --type q8_0 --layers 1 --seed 5", "structured-chat.gguf");
  const auto run = run_tool("chat -m " + path.string() +
                                " -n 20 --temp 1 -s 2 --threads 2 --json-schema "
                                "'{\"enum\": [\"yes\", \"no\"]}'",
                            "cli-chat-schema", "First?\nSecond?\nThird?\n");
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  // One answer per line: each a JSON string of the enum, blanks around it allowed.
  std::istringstream lines(run.out);
  int answers = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const auto last = line.find_last_not_of(" \t\r");
    const std::string answer = line.substr(first, last - first + 1);
    CHECK((answer == "\"yes\"" || answer == "\"no\""));
    ++answers;
  }
  CHECK(answers == 3);
}
