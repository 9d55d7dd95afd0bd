#include "server/chat_messages.hpp"

#include <string>

#include "server/api_error.hpp"
#include "server/json_fields.hpp"

namespace llama3::server {
namespace {

std::string where(std::size_t index) {
  return "messages[" + std::to_string(index) + "]";
}

// A string, or the concatenated "text" parts of a content array (other part types are refused:
// this server reads text only).
std::string read_content(const nlohmann::json& message, std::size_t index) {
  const auto it = message.find("content");
  if (it == message.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) {
    throw bad_request(where(index) + ".content must be a string or an array of text parts",
                      where(index) + ".content");
  }
  std::string text;
  for (const nlohmann::json& part : *it) {
    if (!part.is_object() || part.value("type", nlohmann::json()) != "text" ||
        !part.contains("text") || !part["text"].is_string()) {
      throw bad_request(where(index) +
                            ".content: only {\"type\": \"text\", \"text\": ...} parts "
                            "are supported",
                        where(index) + ".content");
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

// An assistant turn's tool_calls as the Llama 3.1 JSON call the model itself writes:
// {"name": ..., "parameters": {...}} (several separated by "; ").
std::string read_tool_calls(const nlohmann::json& calls, std::size_t index) {
  const std::string field = where(index) + ".tool_calls";
  if (!calls.is_array()) throw bad_request(field + " must be an array", field);
  std::string text;
  for (const nlohmann::json& call : calls) {
    const nlohmann::json* function = call.is_object() ? object_field(call, "function") : nullptr;
    if (!function || !function->contains("name") || !(*function)["name"].is_string()) {
      throw bad_request(field + ": each call needs function.name", field);
    }
    nlohmann::json parameters = nlohmann::json::object();
    if (const auto arguments = string_field(*function, "arguments")) {
      parameters = nlohmann::json::parse(*arguments, nullptr, false);
      if (parameters.is_discarded() || !parameters.is_object()) {
        throw bad_request(field + ": function.arguments must be a JSON object in a string", field);
      }
    }
    nlohmann::json rendered = {{"name", (*function)["name"]}, {"parameters", parameters}};
    if (!text.empty()) text += "; ";
    text += dump_json(rendered);
  }
  return text;
}

Role read_role(const nlohmann::json& message, std::size_t index) {
  const auto role = message.find("role");
  if (role == message.end() || !role->is_string()) {
    throw bad_request(where(index) + ".role must be a string", where(index) + ".role");
  }
  const auto& name = role->get_ref<const std::string&>();
  if (name == "system" || name == "developer") return Role::kSystem;
  if (name == "user") return Role::kUser;
  if (name == "assistant") return Role::kAssistant;
  if (name == "tool" || name == "ipython") return Role::kIpython;
  throw bad_request(where(index) + ".role '" + name +
                        "' is not one of system, developer, user, assistant, tool, ipython",
                    where(index) + ".role");
}

}  // namespace

ChatInput read_messages(const nlohmann::json& messages) {
  if (!messages.is_array() || messages.empty()) {
    throw bad_request("'messages' must be a non-empty array", "messages");
  }
  ChatInput input;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::json& message = messages[i];
    if (!message.is_object()) throw bad_request(where(i) + " must be an object", where(i));
    Message turn;
    turn.role = read_role(message, i);
    turn.content = read_content(message, i);
    const auto calls = message.find("tool_calls");
    if (turn.role == Role::kAssistant && calls != message.end() && !calls->is_null() &&
        !calls->empty()) {
      turn.content = read_tool_calls(*calls, i);
      turn.tool_call = true;
    }
    if (turn.role == Role::kUser || (turn.role == Role::kAssistant && !turn.tool_call)) {
      input.guard_turns.push_back({turn.role == Role::kUser ? "user" : "assistant", turn.content});
    }
    input.dialog.push_back(std::move(turn));
  }
  return input;
}

std::vector<std::string> read_tools(const nlohmann::json& tools) {
  std::vector<std::string> definitions;
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const nlohmann::json& tool = tools[i];
    const std::string field = "tools[" + std::to_string(i) + "]";
    if (!tool.is_object() || tool.value("type", nlohmann::json()) != "function" ||
        !tool.contains("function") || !tool["function"].is_object() ||
        !tool["function"].contains("name") || !tool["function"]["name"].is_string()) {
      throw bad_request(field + " must be {\"type\": \"function\", \"function\": {\"name\": ...}}",
                        field);
    }
    definitions.push_back(dump_json(tool));
  }
  return definitions;
}

}  // namespace llama3::server
