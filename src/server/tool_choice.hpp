// OpenAI's `tool_choice` on a chat request, and the grammar that enforces it. "required" and a
// named function do not just offer the tools: the answer is constrained to a Llama 3.1 JSON call
// ({"name": ..., "parameters": {...}}) of one of the allowed functions, its parameters checked by
// that function's own JSON Schema, so the reply is always a call the client can run.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "llama3/grammar.hpp"

namespace llama3::server {

enum class ToolChoiceKind { kAuto, kNone, kRequired, kNamed };

struct ToolChoice {
  ToolChoiceKind kind = ToolChoiceKind::kAuto;
  std::string name;  // kNamed: the function
};

// `tool_choice`: absent, "auto", "none", "required", or {"type": "function", "function": {"name":
// ...}}. Throws ApiError 400 for anything else.
ToolChoice read_tool_choice(const nlohmann::json& body);

// The JSON Schema of a call to any function of `tools` (kRequired) or to the named one (kNamed,
// 400 when no tool has that name). A function without "parameters" takes any object.
std::string tool_call_schema(const nlohmann::json& tools, const ToolChoice& choice);

// tool_call_schema compiled for the model's vocabulary; a parameters schema the grammar engine
// does not support is a 400 naming the tools (never silently unenforced).
Grammar tool_call_grammar(const nlohmann::json& tools, const ToolChoice& choice,
                          const GrammarVocabulary& vocabulary);

}  // namespace llama3::server
