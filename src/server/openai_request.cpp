#include "server/openai_request.hpp"

#include <cmath>
#include <limits>
#include <random>

#include "llama3/error.hpp"
#include "server/api_error.hpp"
#include "server/chat_messages.hpp"
#include "server/json_fields.hpp"
#include "server/tool_choice.hpp"

namespace llama3::server {
namespace {

// Deeper JSON than this is refused before parsing: no request needs it, and a bounded depth keeps
// every later recursive walk (dump, destruction) shallow.
constexpr int kMaxJsonDepth = 64;
constexpr int kMaxStopStrings = 16;
constexpr int kMaxTopLogprobs = 20;

int json_depth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::vector<std::string> read_stop(const nlohmann::json& body) {
  const auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return {};
  std::vector<std::string> stop;
  if (it->is_string()) {
    stop.push_back(it->get<std::string>());
  } else if (it->is_array() && it->size() <= kMaxStopStrings) {
    for (const nlohmann::json& item : *it) {
      if (!item.is_string()) break;
      stop.push_back(item.get<std::string>());
    }
    if (stop.size() != it->size()) stop.clear(), stop.push_back("");  // reported below
  } else {
    stop.push_back("");
  }
  for (const std::string& text : stop) {
    if (text.empty()) {
      throw bad_request("'stop' must be a non-empty string or an array of at most " +
                            std::to_string(kMaxStopStrings) + " non-empty strings",
                        "stop");
    }
  }
  return stop;
}

std::vector<LogitBias> read_logit_bias(const nlohmann::json& body, int n_vocab) {
  const nlohmann::json* biases = object_field(body, "logit_bias");
  std::vector<LogitBias> out;
  if (!biases) return out;
  for (const auto& [key, value] : biases->items()) {
    char* end = nullptr;
    const long id = std::strtol(key.c_str(), &end, 10);
    if (key.empty() || *end != '\0' || id < 0 || id >= n_vocab) {
      throw bad_request(
          "logit_bias: '" + key + "' is not a token id in [0, " + std::to_string(n_vocab) + ")",
          "logit_bias");
    }
    if (!value.is_number() || value.get<double>() < -100 || value.get<double>() > 100) {
      throw bad_request("logit_bias: the bias of token " + key + " must be a number in [-100, 100]",
                        "logit_bias");
    }
    // OpenAI documents -100 as a ban; a bias of -100 on a logit scale may not be one, so it is.
    const auto bias = value.get<float>();
    out.push_back({static_cast<TokenId>(id),
                   bias <= -100.0f ? -std::numeric_limits<float>::infinity() : bias});
  }
  return out;
}

SamplerParams read_sampling(const nlohmann::json& body, const ModelContext& context) {
  SamplerParams params = default_sampler_params(*context.model);
  if (auto x = number_field(body, "temperature", 0, 2)) params.temperature = static_cast<float>(*x);
  if (auto x = number_field(body, "top_p", 0, 1)) params.top_p = static_cast<float>(*x);
  if (auto x = integer_field(body, "top_k", 0, std::numeric_limits<std::int32_t>::max())) {
    params.top_k = static_cast<std::int32_t>(*x);
  }
  if (auto x = number_field(body, "min_p", 0, 1)) params.min_p = static_cast<float>(*x);
  if (auto x = number_field(body, "repeat_penalty", 0.01, 100)) {
    params.repeat_penalty = static_cast<float>(*x);
  }
  if (auto x = number_field(body, "presence_penalty", -2, 2)) {
    params.presence_penalty = static_cast<float>(*x);
  }
  if (auto x = number_field(body, "frequency_penalty", -2, 2)) {
    params.frequency_penalty = static_cast<float>(*x);
  }
  if (auto seed = integer_field(body, "seed", std::numeric_limits<std::int64_t>::min(),
                                std::numeric_limits<std::int64_t>::max())) {
    params.seed = static_cast<std::uint64_t>(*seed);
  } else {
    // OpenAI's requests without a seed are not repeatable; give each its own.
    std::random_device device;
    params.seed = (static_cast<std::uint64_t>(device()) << 32) | device();
  }
  params.logit_bias = read_logit_bias(body, static_cast<int>(context.model->config().n_vocab));
  return params;
}

void read_response_format(const nlohmann::json& body, const ModelContext& context,
                          SamplerParams& params) {
  const nlohmann::json* format = object_field(body, "response_format");
  if (!format) return;
  const std::string type = string_field(*format, "type").value_or("");
  std::string schema;
  if (type == "text") return;
  if (type == "json_object") {
    schema = R"({"type": "object"})";
  } else if (type == "json_schema") {
    const nlohmann::json* spec = object_field(*format, "json_schema");
    const nlohmann::json* inner = spec ? object_field(*spec, "schema") : nullptr;
    if (!inner) {
      throw bad_request("response_format.json_schema.schema must be an object", "response_format");
    }
    schema = dump_json(*inner);
  } else {
    throw bad_request("response_format.type must be text, json_object or json_schema",
                      "response_format");
  }
  try {
    params.grammar = Grammar::from_json_schema(schema, context.grammar_vocabulary());
  } catch (const Error& e) {
    throw bad_request(std::string("response_format: ") + e.what(), "response_format");
  }
}

// "lora": [{"id": 0, "scale": 0.5}, ...] names adapters the server loaded (--lora), by index;
// scale defaults to 1.
void read_lora(const nlohmann::json& body, const ModelContext& context,
               CompletionRequest& request) {
  const nlohmann::json* list = array_field(body, "lora");
  if (!list) return;
  const std::string ids = context.n_adapters == 0
                              ? "this server runs no adapters (start it with --lora)"
                              : "ids are 0 to " + std::to_string(context.n_adapters - 1) +
                                    ", the server's --lora adapters in order";
  std::vector<RequestLora> chosen;
  for (const nlohmann::json& entry : *list) {
    const auto id = entry.is_object() ? entry.find("id") : entry.end();
    if (!entry.is_object() || id == entry.end() || !id->is_number_integer() ||
        id->get<std::int64_t>() < 0 || id->get<std::int64_t>() >= context.n_adapters) {
      throw bad_request(
          "'lora' must list {\"id\": N, \"scale\": S} with the id of a loaded "
          "adapter; " +
              ids,
          "lora");
    }
    const int index = static_cast<int>(id->get<std::int64_t>());
    for (const auto& earlier : chosen) {
      if (earlier.id == index) {
        throw bad_request("'lora' names adapter " + std::to_string(index) + " twice", "lora");
      }
    }
    float scale = 1.0f;
    if (const auto value = entry.find("scale"); value != entry.end() && !value->is_null()) {
      if (!value->is_number() || !(std::abs(value->get<double>()) <= 100.0)) {
        throw bad_request(
            "'lora' scale of adapter " + std::to_string(index) + " must be a number in [-100, 100]",
            "lora");
      }
      scale = static_cast<float>(value->get<double>());
    }
    chosen.push_back({index, scale});
  }
  request.lora = std::move(chosen);
}

// Fields shared by both endpoints.
void read_common(const nlohmann::json& body, const ModelContext& context,
                 CompletionRequest& request) {
  if (auto n = integer_field(body, "n", 1, 128); n && *n != 1) {
    throw bad_request("'n' must be 1: this server returns one choice per request", "n");
  }
  request.stream = bool_field(body, "stream").value_or(false);
  if (const nlohmann::json* options = object_field(body, "stream_options")) {
    request.include_usage = bool_field(*options, "include_usage").value_or(false);
  }
  request.sampling = read_sampling(body, context);
  read_response_format(body, context, request.sampling);
  request.stop = read_stop(body);
  read_lora(body, context, request);
}

// The context check and max_tokens: an explicit max_tokens must fit after the prompt (400 saying
// both limits, as OpenAI does); without one, generation may use the rest of the window.
void resolve_length(const nlohmann::json& body, const ModelContext& context,
                    CompletionRequest& request, int default_max_tokens) {
  const int n_prompt = static_cast<int>(request.prompt.size());
  std::optional<std::int64_t> max_tokens = integer_field(body, "max_completion_tokens", 1, 1 << 30);
  if (!max_tokens) max_tokens = integer_field(body, "max_tokens", 1, 1 << 30);
  const std::string limits = "This model's maximum context length is " +
                             std::to_string(context.n_ctx) + " tokens. However, you requested " +
                             std::to_string(n_prompt + (max_tokens ? *max_tokens : 0)) +
                             " tokens (" + std::to_string(n_prompt) + " in the prompt, " +
                             std::to_string(max_tokens ? *max_tokens : 0) + " for the completion).";
  if (n_prompt >= context.n_ctx || (max_tokens && n_prompt + *max_tokens > context.n_ctx)) {
    ApiError error(400, "invalid_request_error",
                   limits +
                       " Please reduce the prompt or the "
                       "completion length.",
                   "messages", "context_length_exceeded");
    throw error;
  }
  const int room = context.n_ctx - n_prompt;
  request.max_tokens = max_tokens
                           ? static_cast<int>(*max_tokens)
                           : (default_max_tokens > 0 ? std::min(default_max_tokens, room) : room);
}

}  // namespace

nlohmann::json parse_body(const std::string& text) {
  if (json_depth(text) > kMaxJsonDepth) {
    throw bad_request("the body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded()) {
    throw bad_request("the body is not valid JSON (or not valid UTF-8)");
  }
  if (!body.is_object()) throw bad_request("the body must be a JSON object");
  return body;
}

void check_model_name(const nlohmann::json& body, const ModelContext& context) {
  const auto model = string_field(body, "model");
  if (model && !model->empty() && *model != context.model_id) {
    throw ApiError(
        404, "invalid_request_error",
        "The model '" + *model + "' does not exist; this server serves '" + context.model_id + "'",
        "model", "model_not_found");
  }
}

CompletionRequest parse_chat_request(const nlohmann::json& body, const ModelContext& context) {
  check_model_name(body, context);
  const auto messages = body.find("messages");
  if (messages == body.end()) throw bad_request("'messages' is required", "messages");
  ChatInput input = read_messages(*messages);

  CompletionRequest request;
  request.chat = true;
  read_common(body, context, request);
  ChatOptions chat = context.chat;
  const ToolChoice tool_choice = read_tool_choice(body);
  const nlohmann::json* tools = array_field(body, "tools");
  const bool has_tools = tools && !tools->empty();
  if (!has_tools && (tool_choice.kind == ToolChoiceKind::kRequired ||
                     tool_choice.kind == ToolChoiceKind::kNamed)) {
    throw bad_request("tool_choice asks for a tool call, but 'tools' is empty", "tool_choice");
  }
  if (has_tools && tool_choice.kind != ToolChoiceKind::kNone) {
    if (chat.style == ChatStyle::kLlama30) {
      throw bad_request(
          "'tools' need a Llama 3.1+ model (its chat format has tool calls); this "
          "model's is Llama 3.0's",
          "tools");
    }
    chat.tools = read_tools(*tools);
    chat.ipython_environment = true;
    request.tools = true;
    if (tool_choice.kind != ToolChoiceKind::kAuto) {
      if (request.sampling.grammar) {
        throw bad_request(
            "tool_choice \"required\" or a named function constrains the answer to a "
            "call, which a response_format cannot also constrain",
            "tool_choice");
      }
      request.sampling.grammar =
          tool_call_grammar(*tools, tool_choice, context.grammar_vocabulary());
    }
  }
  request.logprobs = bool_field(body, "logprobs").value_or(false);
  if (auto top = integer_field(body, "top_logprobs", 0, kMaxTopLogprobs)) {
    if (!request.logprobs) throw bad_request("top_logprobs needs logprobs: true", "top_logprobs");
    request.top_logprobs = static_cast<int>(*top);
  }
  try {
    const ChatFormat format(context.model->tokenizer(), chat);
    request.prompt = format.encode_dialog_prompt(input.dialog, true);
  } catch (const Error& e) {
    throw bad_request(e.what(), "messages");
  }
  request.guard_turns = std::move(input.guard_turns);
  resolve_length(body, context, request, 0);
  return request;
}

CompletionRequest parse_completion_request(const nlohmann::json& body,
                                           const ModelContext& context) {
  check_model_name(body, context);
  CompletionRequest request;
  read_common(body, context, request);
  const Tokenizer& tokenizer = context.model->tokenizer();
  const int n_vocab = static_cast<int>(context.model->config().n_vocab);
  auto prompt = body.find("prompt");
  if (prompt == body.end() || prompt->is_null())
    throw bad_request("'prompt' is required", "prompt");
  // A list holding one prompt (a string or a token list) is that prompt; batches are not served.
  if (prompt->is_array() && prompt->size() == 1 && !(*prompt)[0].is_number()) {
    prompt = prompt->begin();
  }
  if (prompt->is_string()) {
    request.prompt_text = prompt->get<std::string>();
    // As `llama3 generate`: BOS first, special-token text read as the tokens it names.
    request.prompt =
        tokenizer.encode(request.prompt_text, {.add_bos = true, .parse_special = true});
  } else if (prompt->is_array() && !prompt->empty()) {
    for (const nlohmann::json& id : *prompt) {
      if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
          id.get<std::int64_t>() >= n_vocab) {
        throw bad_request("'prompt' must be a string, or token ids in [0, " +
                              std::to_string(n_vocab) + "); a batch of prompts is not supported",
                          "prompt");
      }
      request.prompt.push_back(static_cast<TokenId>(id.get<std::int64_t>()));
    }
    request.prompt_text = tokenizer.decode(request.prompt, true);
  } else {
    throw bad_request("'prompt' must be a string or a non-empty array of token ids", "prompt");
  }
  if (string_field(body, "suffix")) throw bad_request("'suffix' is not supported", "suffix");
  request.echo = bool_field(body, "echo").value_or(false);
  if (auto n = integer_field(body, "logprobs", 0, kMaxTopLogprobs)) {
    request.logprobs = true;
    request.top_logprobs = static_cast<int>(*n);
  }
  request.guard_turns.push_back({"user", request.prompt_text});
  resolve_length(body, context, request, 16);  // OpenAI's default for /v1/completions
  return request;
}

}  // namespace llama3::server
