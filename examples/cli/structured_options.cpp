#include "structured_options.hpp"

#include <fstream>
#include <sstream>

#include "llama3/error.hpp"
#include "llama3/grammar.hpp"

namespace llama3::cli {
namespace {

std::string read_text_file(const std::string& path, const char* option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, std::string(option) + ": cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A schema given inline starts with '{' (after blanks); anything else names a file.
std::string schema_text(const std::string& argument) {
  const auto first = argument.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && argument[first] == '{') return argument;
  return read_text_file(argument, "--json-schema");
}

// The library's message, prefixed with the option that gave the grammar.
Grammar compile_for(const char* option, auto&& compile) {
  try {
    return compile();
  } catch (const Error& error) {
    throw Error(error.code(), std::string(option) + ": " + error.what());
  }
}

}  // namespace

void StructuredOptions::declare(CLI::App& app, bool with_logprobs) {
  auto* grammar = app.add_option("--grammar", grammar_file,
                                 "constrain the output to this GBNF grammar file (start rule root)")
                      ->type_name("FILE");
  auto* schema =
      app.add_option("--json-schema,-j", json_schema,
                     "constrain the output to JSON valid under this JSON Schema: a file, or the "
                     "schema itself when it starts with '{' ('{}': any JSON value)")
          ->type_name("FILE|JSON");
  auto* regex_option =
      app.add_option("--regex", regex, "constrain the whole output to this regular expression")
          ->type_name("PATTERN");
  grammar->excludes(schema)->excludes(regex_option);
  schema->excludes(regex_option);
  if (with_logprobs) {
    app.add_option("--logprobs", logprobs,
                   "with -o json: each generated token's logprob and the N most likely "
                   "alternatives (0..20)")
        ->type_name("N")
        ->check(integer_in(0, GenerateOptions::kMaxTopLogprobs));
  }
}

void StructuredOptions::apply(const Model& model, SamplerParams& params) const {
  if (!constrains()) return;
  const GrammarVocabulary vocabulary(model.tokenizer());
  if (!grammar_file.empty()) {
    const std::string text = read_text_file(grammar_file, "--grammar");
    params.grammar = compile_for("--grammar", [&] { return Grammar::from_gbnf(text, vocabulary); });
  } else if (!json_schema.empty()) {
    const std::string text = schema_text(json_schema);
    params.grammar =
        compile_for("--json-schema", [&] { return Grammar::from_json_schema(text, vocabulary); });
  } else {
    params.grammar = compile_for("--regex", [&] { return Grammar::from_regex(regex, vocabulary); });
  }
}

void StructuredOptions::apply(GenerateOptions& generate) const {
  if (!logprobs) return;
  generate.logprobs = true;
  generate.top_logprobs = *logprobs;
}

}  // namespace llama3::cli
