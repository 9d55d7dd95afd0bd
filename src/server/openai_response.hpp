// OpenAI response bodies: chat.completion, chat.completion.chunk, text_completion (whole and
// streamed), usage and logprobs, and the SSE framing of a stream ("data: {...}\n\n" ...
// "data: [DONE]\n\n").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "llama3/chat.hpp"
#include "llama3/engine.hpp"
#include "llama3/tokenizer.hpp"
#include "server/generation_stream.hpp"

namespace llama3::server {

// What every body or chunk of one response shares.
struct ResponseHeader {
  bool chat = false;
  std::string id;  // "chatcmpl-..." or "cmpl-..."
  std::string model;
  long long created = 0;  // Unix seconds
};

ResponseHeader make_response_header(bool chat, const std::string& model);

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;
};
nlohmann::json usage_json(const Usage& usage);

// OpenAI's finish_reason for an ended request: stop, length or content_filter.
const char* finish_reason(const EngineResult& result);

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}.
// Completions: {"tokens", "token_logprobs", "top_logprobs", "text_offset"}.
nlohmann::json logprobs_json(bool chat, const std::vector<TokenLogprob>& entries,
                             const Tokenizer& tokenizer, std::size_t text_offset);

struct FinalAnswer {
  std::string content;
  std::vector<ToolCall> tool_calls;
  std::string finish_reason;
  Usage usage;
  std::optional<nlohmann::json> logprobs;
};
nlohmann::json response_json(const ResponseHeader& header, const FinalAnswer& answer);

// One streamed chunk: the delta (chat) or text (completions), logprobs, and the finish reason in
// the last one.
nlohmann::json chunk_json(const ResponseHeader& header, const nlohmann::json& delta_or_text,
                          const std::optional<nlohmann::json>& logprobs,
                          const std::optional<std::string>& finish_reason);
// The extra chunk stream_options.include_usage asks for: no choices, the usage.
nlohmann::json usage_chunk_json(const ResponseHeader& header, const Usage& usage);
// Tool calls in OpenAI's shape (ids "call_<n>", arguments as JSON text).
nlohmann::json tool_calls_json(const std::vector<ToolCall>& calls, bool with_index);

std::string sse_event(const nlohmann::json& data);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace llama3::server
