#include "server/openai_response.hpp"

#include <chrono>
#include <random>

#include "server/json_fields.hpp"

namespace llama3::server {
namespace {

std::string random_hex(int n) {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < n; ++i) out += kDigits[generator() % 16];
  return out;
}

nlohmann::json bytes_of(const std::string& text) {
  nlohmann::json bytes = nlohmann::json::array();
  for (const unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

}  // namespace

ResponseHeader make_response_header(bool chat, const std::string& model) {
  ResponseHeader header;
  header.chat = chat;
  header.id = (chat ? "chatcmpl-" : "cmpl-") + random_hex(24);
  header.model = model;
  header.created = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return header;
}

nlohmann::json usage_json(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", usage.cached_tokens}}}};
}

const char* finish_reason(const EngineResult& result) {
  switch (result.generation.stop_reason) {
    case StopReason::kEndOfGeneration:
    case StopReason::kStopString:
    case StopReason::kCallback:
      return "stop";
    case StopReason::kMaxTokens:
    case StopReason::kContextFull:
      return "length";
    case StopReason::kBlocked:
    case StopReason::kFiltered:
      return "content_filter";
  }
  return "stop";
}

nlohmann::json logprobs_json(bool chat, const std::vector<TokenLogprob>& entries,
                             const Tokenizer& tokenizer, std::size_t text_offset) {
  if (chat) {
    nlohmann::json content = nlohmann::json::array();
    for (const TokenLogprob& entry : entries) {
      const std::string piece = tokenizer.piece(entry.token);
      nlohmann::json top = nlohmann::json::array();
      for (const auto& [id, logprob] : entry.top) {
        const std::string text = tokenizer.piece(id);
        top.push_back({{"token", text}, {"logprob", logprob}, {"bytes", bytes_of(text)}});
      }
      content.push_back({{"token", piece},
                         {"logprob", entry.logprob},
                         {"bytes", bytes_of(piece)},
                         {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  nlohmann::json tokens = nlohmann::json::array(), token_logprobs = nlohmann::json::array(),
                 top_logprobs = nlohmann::json::array(), offsets = nlohmann::json::array();
  for (const TokenLogprob& entry : entries) {
    const std::string piece = tokenizer.piece(entry.token);
    tokens.push_back(piece);
    token_logprobs.push_back(entry.logprob);
    nlohmann::json top = nlohmann::json::object();
    for (const auto& [id, logprob] : entry.top) top[tokenizer.piece(id)] = logprob;
    top_logprobs.push_back(top);
    offsets.push_back(text_offset);
    text_offset += piece.size();
  }
  return {{"tokens", tokens},
          {"token_logprobs", token_logprobs},
          {"top_logprobs", top_logprobs},
          {"text_offset", offsets}};
}

nlohmann::json tool_calls_json(const std::vector<ToolCall>& calls, bool with_index) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < calls.size(); ++i) {
    nlohmann::json call = {
        {"id", "call_" + random_hex(24)},
        {"type", "function"},
        {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}};
    if (with_index) call["index"] = i;
    out.push_back(call);
  }
  return out;
}

nlohmann::json response_json(const ResponseHeader& header, const FinalAnswer& answer) {
  nlohmann::json choice = {{"index", 0}, {"finish_reason", answer.finish_reason}};
  choice["logprobs"] = answer.logprobs ? *answer.logprobs : nlohmann::json(nullptr);
  if (header.chat) {
    nlohmann::json message = {{"role", "assistant"}, {"content", answer.content}};
    if (!answer.tool_calls.empty()) {
      message["content"] = nullptr;
      message["tool_calls"] = tool_calls_json(answer.tool_calls, false);
    }
    choice["message"] = message;
  } else {
    choice["text"] = answer.content;
  }
  return {{"id", header.id},
          {"object", header.chat ? "chat.completion" : "text_completion"},
          {"created", header.created},
          {"model", header.model},
          {"system_fingerprint", "llama3"},
          {"choices", nlohmann::json::array({choice})},
          {"usage", usage_json(answer.usage)}};
}

nlohmann::json chunk_json(const ResponseHeader& header, const nlohmann::json& delta_or_text,
                          const std::optional<nlohmann::json>& logprobs,
                          const std::optional<std::string>& finish_reason) {
  nlohmann::json choice = {{"index", 0}};
  choice[header.chat ? "delta" : "text"] = delta_or_text;
  choice["logprobs"] = logprobs ? *logprobs : nlohmann::json(nullptr);
  choice["finish_reason"] = finish_reason ? nlohmann::json(*finish_reason) : nullptr;
  return {{"id", header.id},
          {"object", header.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", header.created},
          {"model", header.model},
          {"system_fingerprint", "llama3"},
          {"choices", nlohmann::json::array({choice})}};
}

nlohmann::json usage_chunk_json(const ResponseHeader& header, const Usage& usage) {
  return {{"id", header.id},
          {"object", header.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", header.created},
          {"model", header.model},
          {"system_fingerprint", "llama3"},
          {"choices", nlohmann::json::array()},
          {"usage", usage_json(usage)}};
}

std::string sse_event(const nlohmann::json& data) {
  return "data: " + dump_json(data) + "\n\n";
}

}  // namespace llama3::server
