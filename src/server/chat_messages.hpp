// OpenAI chat messages and tools -> our Dialog and ChatOptions. The Llama 3 chat format is always
// ours (ChatFormat): a chat template in the model's metadata is read only to tell the style, never
// executed.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "llama3/chat.hpp"
#include "llama3/safety.hpp"

namespace llama3::server {

struct ChatInput {
  Dialog dialog;
  std::vector<ChatTurn> guard_turns;  // user and assistant turns, for Llama Guard
};

// `messages`: [{"role": "system"|"developer"|"user"|"assistant"|"tool"|"ipython",
//   "content": string | [{"type": "text", "text": ...}] | null, "tool_calls": [...]}]. Throws
// ApiError 400 naming the message at fault.
ChatInput read_messages(const nlohmann::json& messages);

// `tools`: [{"type": "function", "function": {"name", "description", "parameters"}}] into
// ChatOptions::tools (each definition as JSON text). Throws ApiError 400.
std::vector<std::string> read_tools(const nlohmann::json& tools);

}  // namespace llama3::server
