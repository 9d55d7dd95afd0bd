// Tool definitions into the prompt and tool calls out of an answer (include/llama3/chat.hpp).
// The formats are those of Meta's Llama 3.1 / 3.2 / 3.3 chat templates and model cards: JSON
// {"name", "parameters"} calls, 3.2's pythonic list [f(a=1)], built-in tools as
// <|python_tag|>name.call(k="v") and code_interpreter as <|python_tag|> code.
#include "tokenizer/tool_calls.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "llama3/chat.hpp"
#include "llama3/error.hpp"

namespace llama3 {
namespace detail {

std::string render_tool_definitions(const std::vector<std::string>& tools) {
  std::string out;
  for (const std::string& tool : tools) {
    nlohmann::ordered_json value;
    try {
      value = nlohmann::ordered_json::parse(tool);
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("ChatFormat: a tool definition is not valid JSON: ") + e.what());
    }
    // Python's json.dumps(indent=4, ensure_ascii=False), which the templates' tojson calls.
    out += value.dump(4, ' ', false, nlohmann::json::error_handler_t::replace);
    out += "\n\n";
  }
  return out;
}

}  // namespace detail

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kPythonTag = "<|python_tag|>";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool strip_suffix(std::string_view& text, std::string_view suffix) {
  if (text.size() < suffix.size() || text.substr(text.size() - suffix.size()) != suffix)
    return false;
  text.remove_suffix(suffix.size());
  return true;
}

// A cursor over Python call syntax: f(a=1, b="x"), lists, dicts, str/int/float/True/False/None.
class PythonCallReader {
 public:
  explicit PythonCallReader(std::string_view text) : text_(text) {}

  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool eat_word(std::string_view word) {
    skip_space();
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  std::optional<std::string> identifier() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' ||
            (pos_ > start && text_[pos_] == '.' && text_.substr(pos_, 6) != ".call(")))
      ++pos_;
    if (pos_ == start || std::isdigit(static_cast<unsigned char>(text_[start]))) return {};
    return std::string(text_.substr(start, pos_ - start));
  }
  // (name=value, ...) after the opening parenthesis was eaten; ends after ')'.
  std::optional<Json> keyword_arguments() {
    Json args = Json::object();
    if (eat(')')) return args;
    do {
      const auto name = identifier();
      if (!name || !eat('=')) return {};
      auto value = this->value();
      if (!value) return {};
      args[*name] = std::move(*value);
    } while (eat(','));
    if (!eat(')')) return {};
    return args;
  }
  std::optional<Json> value() {
    skip_space();
    if (pos_ >= text_.size() || depth_ >= kMaxDepth) return {};
    ++depth_;
    auto result = unnested_value();
    --depth_;
    return result;
  }

 private:
  static constexpr int kMaxDepth = 64;  // deeper nesting is not a tool call (and no stack risk)

  std::optional<Json> unnested_value() {
    const char c = text_[pos_];
    if (c == '"' || c == '\'') return string();
    if (c == '[') {
      ++pos_;
      Json list = Json::array();
      if (eat(']')) return list;
      do {
        auto item = value();
        if (!item) return {};
        list.push_back(std::move(*item));
      } while (eat(','));
      if (!eat(']')) return {};
      return list;
    }
    if (c == '{') {
      ++pos_;
      Json dict = Json::object();
      if (eat('}')) return dict;
      do {
        auto key = value();
        if (!key || !key->is_string() || !eat(':')) return {};
        auto item = value();
        if (!item) return {};
        dict[key->get<std::string>()] = std::move(*item);
      } while (eat(','));
      if (!eat('}')) return {};
      return dict;
    }
    if (eat_word("True")) return Json(true);
    if (eat_word("False")) return Json(false);
    if (eat_word("None")) return Json(nullptr);
    return number();
  }

  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }
  std::optional<Json> string() {
    const char quote = text_[pos_++];
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) return {};
        const char e = text_[pos_++];
        c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
      }
      out += c;
    }
    if (pos_ >= text_.size()) return {};
    ++pos_;
    return Json(out);
  }
  std::optional<Json> number() {
    const std::size_t start = pos_;
    if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) ++pos_;
    while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) ||
                                   text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E' ||
                                   ((text_[pos_] == '-' || text_[pos_] == '+') &&
                                    (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E'))))
      ++pos_;
    if (pos_ == start) return {};
    const Json parsed = Json::parse(text_.substr(start, pos_ - start), nullptr, false);
    if (parsed.is_discarded() || !parsed.is_number()) return {};
    return parsed;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

ToolCall make_call(std::string name, const Json& arguments) {
  return ToolCall{std::move(name), arguments.dump()};
}

// [f(a=1), g()] (Llama 3.2).
std::optional<std::vector<ToolCall>> pythonic_list(std::string_view text) {
  PythonCallReader reader(text);
  if (!reader.eat('[')) return {};
  std::vector<ToolCall> calls;
  do {
    const auto name = reader.identifier();
    if (!name || !reader.eat('(')) return {};
    const auto args = reader.keyword_arguments();
    if (!args) return {};
    calls.push_back(make_call(*name, *args));
  } while (reader.eat(','));
  if (!reader.eat(']') || !reader.at_end()) return {};
  return calls;
}

// brave_search.call(query="...") (Llama 3.1 built-in tools).
std::optional<ToolCall> builtin_call(std::string_view text) {
  PythonCallReader reader(text);
  const auto name = reader.identifier();
  if (!name || !reader.eat_word(".call(")) return {};
  const auto args = reader.keyword_arguments();
  if (!args || !reader.at_end()) return {};
  return make_call(*name, *args);
}

// The end of the JSON object starting at text[0] == '{' (one past its '}'), or npos.
std::size_t object_end(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// {"name": ..., "parameters"|"arguments": {...}} objects separated by ';' or white space.
std::optional<std::vector<ToolCall>> json_calls(std::string_view text) {
  std::vector<ToolCall> calls;
  while (true) {
    while (!text.empty() && (is_space(text.front()) || text.front() == ';')) text.remove_prefix(1);
    if (text.empty()) break;
    if (text.front() != '{') return {};
    const std::size_t end = object_end(text);
    if (end == std::string_view::npos) return {};
    const Json object = Json::parse(text.substr(0, end), nullptr, false);
    text.remove_prefix(end);
    if (object.is_discarded() || !object.is_object() || object.size() != 2) return {};
    const auto name = object.find("name");
    auto args = object.find("parameters");
    if (args == object.end()) args = object.find("arguments");
    if (name == object.end() || !name->is_string() || args == object.end() || !args->is_object())
      return {};
    calls.push_back(make_call(name->get<std::string>(), *args));
  }
  if (calls.empty()) return {};
  return calls;
}

ParsedReply parse_calls(std::string_view answer) {
  std::string_view text = answer;
  strip_suffix(text, "<|eom_id|>") || strip_suffix(text, "<|eot_id|>");
  text = trim(text);
  const bool tagged = text.substr(0, kPythonTag.size()) == kPythonTag;
  if (tagged) text = trim(text.substr(kPythonTag.size()));

  if (auto calls = json_calls(text)) return {{}, std::move(*calls)};
  if (auto calls = pythonic_list(text)) return {{}, std::move(*calls)};
  if (tagged) {
    if (auto call = builtin_call(text)) return {{}, {std::move(*call)}};
    if (!text.empty())
      return {{}, {make_call("code_interpreter", Json{{"code", std::string(text)}})}};
  }
  return {std::string(answer), {}};
}

}  // namespace

ParsedReply parse_tool_calls(std::string_view answer) {
  try {
    return parse_calls(answer);
  } catch (const nlohmann::json::exception&) {
    // e.g. invalid UTF-8 inside a pythonic string argument: not a call we can hand over as JSON
    return {std::string(answer), {}};
  }
}

}  // namespace llama3
