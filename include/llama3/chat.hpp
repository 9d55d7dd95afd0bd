// Llama 3 chat format: a dialog rendered as token ids, exactly as the Hugging Face chat templates
// (which llama.cpp and Meta's meta-llama/llama3 repo also match) spell it.
//
//   message = <|start_header_id|> role <|end_header_id|> "\n\n" content <|eot_id|>
//   dialog  = <|begin_of_text|> [system block (3.1+)] message...
//   [<|start_header_id|>assistant<|end_header_id|>"\n\n"]
//
// Llama 3.1+ always opens with a system block: "Environment: ipython\n" when tools are on, "Tools:
// a, b\n\n" for built-in tools, "Cutting Knowledge Date: December 2023\nToday Date: {date}\n\n",
// then the system message (if the dialog starts with one). A tool call is an assistant turn
// <|python_tag|> call <|eom_id|>; its result comes back as an `ipython` message. Role names and
// content are plain text (special-token text inside content is never parsed). User, system and
// assistant content is trimmed like the templates'
// `| trim` (Python str.strip()); ipython results and tool calls are not, as in the 3.1 template.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llama3/tokenizer.hpp"

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

enum class Role { kSystem, kUser, kAssistant, kIpython };
std::string_view role_name(Role role);  // "system", "user", "assistant", "ipython"

struct Message {
  Role role = Role::kUser;
  std::string content{};
  // An assistant turn that calls a tool (3.1+): rendered as <|python_tag|> content <|eom_id|>.
  bool tool_call = false;
};
using Dialog = std::vector<Message>;

enum class ChatStyle {
  kLlama30,  // Llama 3 / Llama Guard 2: no default system block
  kLlama31,  // Llama 3.1, 3.2, 3.3: system block with dates, ipython role, <|eom_id|>
};

struct ChatOptions {
  std::optional<ChatStyle> style;  // unset: detect_chat_style(tokenizer, chat_template)
  std::string chat_template{};     // the model's tokenizer.chat_template, used for detection only
  std::string today_date = "26 Jul 2024";    // the date the 3.1/3.3 templates hard-code
  bool ipython_environment = false;          // 3.1+: "Environment: ipython\n" (tools enabled)
  std::vector<std::string> builtin_tools{};  // 3.1+: "Tools: brave_search, wolfram_alpha\n\n"
  // 3.1+: custom tool definitions, each a JSON object (e.g. {"type": "function", "function":
  // {"name": ..., "description": ..., "parameters": {JSON Schema}}}). Rendered as Meta's templates
  // do: "Environment: ipython" in the system block and each definition as 4-space-indented JSON
  // (keys in the given order) after the templates' instructions, in the first user message (or in
  // the system block when tools_in_user_message is false). Invalid JSON throws kInvalidArgument.
  std::vector<std::string> tools{};
  bool tools_in_user_message = true;
};

// 3.1+ when the template mentions "Cutting Knowledge Date" or "<|eom_id|>"; 3.0 when a template is
// given without them; with no template, 3.1+ when the vocabulary names <|eom_id|> (3.1 token
// names).
ChatStyle detect_chat_style(const Tokenizer& tokenizer, std::string_view chat_template = {});

// A tool call read from a model's answer.
struct ToolCall {
  std::string name;
  std::string arguments;  // a JSON object, compact (e.g. {"city":"Paris"})
};

struct ParsedReply {
  std::string content;               // the answer as text when it holds no tool call, else ""
  std::vector<ToolCall> tool_calls;  // in order
};

// Reads tool calls from an assistant answer decoded with special tokens rendered (a trailing
// <|eom_id|> / <|eot_id|> is ignored). Recognised, optionally after <|python_tag|>:
//   {"name": "f", "parameters": {...}}   (also "arguments"), several separated by ';' or newlines;
//   [f(a=1, b="x"), g()]                 Llama 3.2's pythonic list;
//   brave_search.call(query="...")       a built-in tool (name before ".call");
//   <|python_tag|> any other text        code for code_interpreter: {"code": text}.
// Anything else, or a call that does not parse completely, is returned as content with no calls:
// a malformed answer is never guessed into a call.
ParsedReply parse_tool_calls(std::string_view answer);

class ChatFormat {
 public:
  // Throws llama3::Error (kInvalidArgument) if the tokenizer lacks the header/eot tokens.
  explicit ChatFormat(Tokenizer tokenizer, ChatOptions options = {});

  ChatStyle style() const { return style_; }
  std::vector<TokenId> encode_header(Role role) const;
  std::vector<TokenId> encode_message(const Message& message) const;
  // <|begin_of_text|>, the system block (3.1+), every message, then the open assistant header when
  // add_generation_prompt is set.
  std::vector<TokenId> encode_dialog_prompt(const Dialog& dialog,
                                            bool add_generation_prompt = true) const;

 private:
  TokenId special(std::string_view name) const;
  void append_text(std::string_view text, std::vector<TokenId>& out) const;

  Tokenizer tokenizer_;
  ChatOptions options_;
  ChatStyle style_;
  TokenId start_header_, end_header_, eot_;
  std::optional<TokenId> eom_, python_tag_;
};

}  // namespace llama3

#pragma GCC visibility pop
