// Structured output on the command line, shared by `generate` and `chat`: --grammar FILE (GBNF),
// --json-schema FILE|JSON ('{}' = any JSON value) and --regex PATTERN constrain the output;
// --logprobs N adds each generated token's logprob and N alternatives to `generate -o json`.
#pragma once

#include <optional>
#include <string>

#include "command_line.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"

namespace llama3::cli {

struct StructuredOptions {
  std::string grammar_file;
  std::string json_schema;  // inline JSON when it starts with '{', else a file name
  std::string regex;
  std::optional<int> logprobs;  // --logprobs N (generate only)

  // `with_logprobs`: also declare --logprobs.
  void declare(CLI::App& app, bool with_logprobs);
  bool constrains() const {
    return !grammar_file.empty() || !json_schema.empty() || !regex.empty();
  }
  // Compiles the grammar against the model's vocabulary into params.grammar (nothing when none
  // was given). A bad grammar or schema throws Error(kInvalidArgument) naming the option.
  void apply(const Model& model, SamplerParams& params) const;
  // generate.logprobs / top_logprobs from --logprobs.
  void apply(GenerateOptions& generate) const;
};

}  // namespace llama3::cli
