// structured_output.cpp — JSON mode, tool calling and logprobs with the public C++ API.
//
//   structured_output_cpp CHAT_MODEL.gguf      (a Llama 3.1+ instruct model)
//
// 1. JSON mode: the answer is JSON valid under a schema, whatever the model prefers.
// 2. Tool calling: the tool's definition goes into the prompt as Meta's templates put it; the
//    answer is constrained to a call of that tool, read back with parse_tool_calls, and the tool's
//    result goes back as an ipython turn.
// 3. Logprobs: each generated token's log-probability and its two most likely alternatives.
#include <cstdio>
#include <string>

#include "llama3/chat.hpp"
#include "llama3/error.hpp"
#include "llama3/grammar.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"

namespace {

constexpr const char* kWeatherTool = R"({"type": "function", "function": {
  "name": "get_weather", "description": "Current weather in a city",
  "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 24}},
                 "required": ["city"]}}})";
// What a call of that tool looks like, so that the answer always parses as one.
constexpr const char* kWeatherCall = R"({"type": "object", "properties": {
  "name": {"const": "get_weather"},
  "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 24}},
                 "required": ["city"]}},
  "required": ["name", "parameters"]})";

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CHAT_MODEL.gguf\n", argv[0]);
    return 2;
  }
  const llama3::Model model = llama3::Model::load(argv[1]);
  const llama3::GrammarVocabulary vocabulary(model.tokenizer());  // once per model

  // 1. JSON mode.
  llama3::SamplerParams params;
  params.seed = 1;
  params.grammar = llama3::Grammar::from_json_schema(
      R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 16},
          "age": {"type": "integer", "minimum": 0, "maximum": 150}},
          "required": ["name", "age"]})",
      vocabulary);
  const llama3::ChatFormat chat(model.tokenizer());
  const auto prompt =
      chat.encode_dialog_prompt({{llama3::Role::kUser, "Invent a person. Answer in JSON."}});
  llama3::Session session(model);
  llama3::Sampler json_sampler(params);
  llama3::GenerateOptions options;
  options.max_tokens = 128;
  const auto person = session.generate(prompt, json_sampler, options);
  std::printf("json: %s\n", person.text.c_str());

  // 2. Tool calling.
  llama3::ChatOptions with_tools;
  with_tools.tools = {kWeatherTool};
  const llama3::ChatFormat tool_chat(model.tokenizer(), with_tools);
  llama3::Dialog dialog = {{llama3::Role::kUser, "What is the weather in Paris?"}};
  params.grammar = llama3::Grammar::from_json_schema(kWeatherCall, vocabulary);
  llama3::Sampler call_sampler(params);
  session.reset();
  const auto answer =
      session.generate(tool_chat.encode_dialog_prompt(dialog), call_sampler, options);
  const llama3::ParsedReply reply = llama3::parse_tool_calls(answer.text);
  for (const llama3::ToolCall& call : reply.tool_calls) {
    std::printf("tool call: %s %s\n", call.name.c_str(), call.arguments.c_str());
    // Run the tool, then hand its result back for the model's next answer.
    dialog.push_back({llama3::Role::kAssistant, answer.text, /*tool_call=*/true});
    dialog.push_back({llama3::Role::kIpython, R"({"temperature_c": 21})"});
  }
  if (reply.tool_calls.empty()) std::printf("no tool call: %s\n", reply.content.c_str());

  // 3. Logprobs of a free answer to the tool's result.
  params.grammar.reset();
  llama3::Sampler free_sampler(params);
  options.max_tokens = 4;
  options.logprobs = true;
  options.top_logprobs = 2;
  const auto final_answer =
      session.generate(tool_chat.encode_dialog_prompt(dialog), free_sampler, options);
  for (const auto& token : final_answer.logprobs) {
    std::printf("token %d logprob %.3f (best: %d %.3f)\n", token.token, token.logprob,
                token.top[0].token, token.top[0].logprob);
  }
  return 0;
} catch (const llama3::Error& error) {
  std::fprintf(stderr, "error (%s): %s\n", llama3::error_code_name(error.code()), error.what());
  return 1;
}
