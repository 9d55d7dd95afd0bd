#include "server/tool_choice.hpp"

#include "llama3/error.hpp"
#include "server/api_error.hpp"
#include "server/json_fields.hpp"

namespace llama3::server {

ToolChoice read_tool_choice(const nlohmann::json& body) {
  const auto found = body.find("tool_choice");
  if (found == body.end() || found->is_null()) return {};
  const nlohmann::json& value = *found;
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (text == "auto") return {};
    if (text == "none") return {ToolChoiceKind::kNone, {}};
    if (text == "required") return {ToolChoiceKind::kRequired, {}};
  } else if (value.is_object() && value.value("type", nlohmann::json()) == "function") {
    const auto function = value.find("function");
    if (function != value.end() && function->is_object()) {
      const auto name = function->find("name");
      if (name != function->end() && name->is_string()) {
        return {ToolChoiceKind::kNamed, name->get<std::string>()};
      }
    }
  }
  throw bad_request(
      "'tool_choice' must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", "
      "\"function\": {\"name\": ...}}",
      "tool_choice");
}

std::string tool_call_schema(const nlohmann::json& tools, const ToolChoice& choice) {
  nlohmann::json calls = nlohmann::json::array();
  for (const nlohmann::json& tool : tools) {
    const nlohmann::json& function = tool.at("function");
    const std::string name = function.at("name").get<std::string>();
    if (choice.kind == ToolChoiceKind::kNamed && name != choice.name) continue;
    nlohmann::json parameters = {{"type", "object"}};
    if (const auto given = function.find("parameters"); given != function.end()) {
      parameters = *given;
    }
    calls.push_back({{"type", "object"},
                     {"properties", {{"name", {{"const", name}}}, {"parameters", parameters}}},
                     {"required", {"name", "parameters"}},
                     {"additionalProperties", false}});
  }
  if (calls.empty()) {
    throw bad_request(
        "tool_choice names the function '" + choice.name + "', which is not among 'tools'",
        "tool_choice");
  }
  return calls.size() == 1 ? dump_json(calls[0]) : dump_json(nlohmann::json{{"anyOf", calls}});
}

Grammar tool_call_grammar(const nlohmann::json& tools, const ToolChoice& choice,
                          const GrammarVocabulary& vocabulary) {
  const std::string schema = tool_call_schema(tools, choice);
  try {
    return Grammar::from_json_schema(schema, vocabulary);
  } catch (const Error& e) {
    throw bad_request(
        std::string("tool_choice: a tool's parameters cannot be enforced: ") + e.what(), "tools");
  }
}

}  // namespace llama3::server
