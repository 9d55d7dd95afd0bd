// Reading OpenAI request bodies (/v1/chat/completions, /v1/completions) into what the engine runs.
// Every field is type-checked; a wrong type, a value out of range or an unsupported option is an
// ApiError (400) naming the field, never a silent default.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "llama3/chat.hpp"
#include "llama3/grammar.hpp"
#include "llama3/model.hpp"
#include "llama3/safety.hpp"
#include "llama3/sampler.hpp"

namespace llama3::server {

// What parsing needs to know about the loaded model.
struct ModelContext {
  const Model* model = nullptr;
  // Built on first use: walking a 128K vocabulary takes seconds, which only structured-output
  // requests need, so the server is ready without it.
  std::function<const GrammarVocabulary&()> grammar_vocabulary;
  std::string model_id;  // the id clients name
  int n_ctx = 0;
  ChatOptions chat;    // style and template of the model
  int n_adapters = 0;  // the server's --lora adapters, which a request's "lora" picks by index
};

// One entry of a request's "lora" field: the server's adapter `id` (its place on the command
// line, from 0) at `scale`.
struct RequestLora {
  int id = 0;
  float scale = 1.0f;
};

struct CompletionRequest {
  bool chat = false;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::vector<TokenId> prompt;
  SamplerParams sampling;
  int max_tokens = 0;  // resolved: never past the context
  std::vector<std::string> stop;
  bool logprobs = false;
  int top_logprobs = 0;
  bool tools = false;       // parse tool calls from the answer
  bool echo = false;        // completions: the prompt text before the answer
  std::string prompt_text;  // echo
  // The conversation as Llama Guard reads it (user and assistant turns).
  std::vector<ChatTurn> guard_turns;
  // "lora": the adapters this request runs with, instead of the server's (none when empty);
  // unset, the server's --lora adapters at their own scales.
  std::optional<std::vector<RequestLora>> lora;
};

// Throws ApiError. `body` is the parsed JSON body (an object is required).
CompletionRequest parse_chat_request(const nlohmann::json& body, const ModelContext& context);
CompletionRequest parse_completion_request(const nlohmann::json& body, const ModelContext& context);

// Checks "model" when present: a name other than the served one is 404 model_not_found.
void check_model_name(const nlohmann::json& body, const ModelContext& context);

// Parses a body as a JSON object: malformed JSON or another type is 400.
nlohmann::json parse_body(const std::string& text);

}  // namespace llama3::server
