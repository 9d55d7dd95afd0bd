// Constrained generation end to end: a random-weight model with the real Llama 3 vocabulary
// samples at temperature 1 under a JSON Schema; every output must be valid JSON that Python's
// `jsonschema` (an independent validator) accepts. Random weights make the model's preferences
// arbitrary, so the grammar alone keeps the output valid.
//
// LLAMA3_GRAMMAR_GENERATIONS sets the number of seeded generations per schema: 25 by default (the
// unit run), 200 in the `slow`-labelled ctest run (see docs/structured-output.md).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "llama3/grammar.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "support/test_data.hpp"
#include "support/test_models.hpp"

using namespace llama3;

namespace {

const Model& vocab_model() {
  static const Model model = Model::load(testing::make_test_model(
      "--shape tiny --type q8_0 --vocab llama3 --seed 11", "grammar-llama3-vocab.gguf"));
  return model;
}

GenerateOptions max_tokens(int n) {
  GenerateOptions options;
  options.max_tokens = n;
  return options;
}

int generations_per_schema() {
  const char* value = std::getenv("LLAMA3_GRAMMAR_GENERATIONS");
  return value ? std::atoi(value) : 25;
}

// Generates with `schema` and has the Python validator check every output.
void check_schema(const std::string& name, const std::string& schema) {
  const Model& model = vocab_model();
  const Grammar grammar = Grammar::from_json_schema(schema, model.tokenizer());
  const auto dir = testing::scratch_dir("grammar-" + name);
  { std::ofstream(dir / "schema.json") << schema; }
  std::ofstream outputs(dir / "outputs.jsonl");
  Session session(model, {.n_ctx = 2048, .n_threads = 1});
  const auto prompt = model.tokenizer().encode("Answer in JSON:", {.add_bos = true});
  const int n = generations_per_schema();
  for (int i = 0; i < n; ++i) {
    SamplerParams params;
    params.temperature = 1.0f;
    params.top_p = 1.0f;
    params.seed = static_cast<std::uint64_t>(i);
    params.grammar = grammar;
    Sampler sampler(params);
    session.reset();
    const auto result = session.generate(prompt, sampler, max_tokens(1500));
    INFO(name << " seed " << i << ": " << result.text);
    CHECK(result.stop_reason == StopReason::kEndOfGeneration);
    CHECK(nlohmann::json::accept(result.text));
    outputs << nlohmann::json(result.text).dump() << "\n";
  }
  outputs.close();
  const std::string command =
      testing::test_python() + " " LLAMA3_SOURCE_DIR "/tests/grammar/check_json_outputs.py " +
      (dir / "schema.json").string() + " " + (dir / "outputs.jsonl").string();
  INFO(command);
  CHECK(std::system(command.c_str()) == 0);
}

}  // namespace

TEST_CASE("constrained generation: nested objects", "[grammar][generation]") {
  check_schema("nested", R"({"type": "object", "properties": {
      "user": {"type": "object", "properties": {
          "name": {"type": "string", "maxLength": 10},
          "age": {"type": "integer", "minimum": 0, "maximum": 120}},
        "required": ["name", "age"]},
      "active": {"type": "boolean"}},
    "required": ["user", "active"]})");
}

TEST_CASE("constrained generation: enums", "[grammar][generation]") {
  check_schema("enums", R"({"type": "object", "properties": {
      "color": {"enum": ["red", "green", "blue"]},
      "size": {"enum": [1, 2.5, null, "XL"]}},
    "required": ["color", "size"], "additionalProperties": false})");
}

TEST_CASE("constrained generation: arrays", "[grammar][generation]") {
  check_schema("arrays", R"({"type": "array", "minItems": 1, "maxItems": 5,
    "items": {"type": "integer", "minimum": -50, "maximum": 50}})");
}

TEST_CASE("constrained generation: anyOf", "[grammar][generation]") {
  check_schema("anyof", R"({"anyOf": [
      {"type": "string", "maxLength": 8},
      {"type": "integer", "minimum": 1000},
      {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}]})");
}

TEST_CASE("constrained generation: $ref", "[grammar][generation]") {
  check_schema("ref", R"({"$defs": {"point": {"type": "object",
        "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
        "required": ["x", "y"]}},
    "type": "object",
    "properties": {"from": {"$ref": "#/$defs/point"}, "to": {"$ref": "#/$defs/point"}},
    "required": ["from", "to"]})");
}

TEST_CASE("constrained generation: strings with escapes and non-ASCII", "[grammar][generation]") {
  check_schema("strings", R"({"type": "object", "properties": {
      "text": {"type": "string", "minLength": 1, "maxLength": 12},
      "label": {"type": "string", "pattern": "^(é|ü|日本)+\"?[a-z]{0,3}$"}},
    "required": ["text", "label"]})");
}
