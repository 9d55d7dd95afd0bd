// The work both HTTP-layer probes do per request, so that they differ only in the HTTP library:
// parse an OpenAI-style chat body with nlohmann-json, then answer with a completion object or, for
// "stream": true, one server-sent event per token and "data: [DONE]", as `llama3 serve` does.
// No model runs: the probe measures what the HTTP layer costs on its own.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace http_layer {

struct ChatReply {
  bool stream = false;
  std::string body;                 // the whole JSON answer (not streamed)
  std::vector<std::string> events;  // "data: {...}\n\n" per token, then "data: [DONE]\n\n"
};

inline ChatReply chat_reply(const std::string& request_body) {
  const nlohmann::json request = nlohmann::json::parse(request_body);
  const int tokens = request.value("max_tokens", 16);
  ChatReply reply;
  reply.stream = request.value("stream", false);
  if (!reply.stream) {
    std::string text;
    for (int i = 0; i < tokens; ++i) text += " word";
    reply.body = nlohmann::json{{"id", "chatcmpl-probe"},
                                {"object", "chat.completion"},
                                {"choices",
                                 {{{"index", 0},
                                   {"message", {{"role", "assistant"}, {"content", text}}},
                                   {"finish_reason", "length"}}}}}
                     .dump();
    return reply;
  }
  for (int i = 0; i < tokens; ++i) {
    const nlohmann::json chunk{{"id", "chatcmpl-probe"},
                               {"object", "chat.completion.chunk"},
                               {"choices", {{{"index", 0}, {"delta", {{"content", " word"}}}}}}};
    reply.events.push_back("data: " + chunk.dump() + "\n\n");
  }
  reply.events.push_back("data: [DONE]\n\n");
  return reply;
}

}  // namespace http_layer
