// ChatFormat: see include/llama3/chat.hpp. The reference for the token layout is the Hugging Face
// chat templates of Llama 3 (tokenizer_config.json) and 3.1/3.3 (identical), checked against Meta's
// golden id lists (meta-llama/llama3 test_tokenizer.py).
#include "llama3/chat.hpp"

#include "llama3/error.hpp"
#include "tokenizer/tool_calls.hpp"
#include "tokenizer/unicode_tables.hpp"

namespace llama3 {
namespace {

// Python's str.isspace(), which Jinja's `trim` (str.strip()) uses: White_Space plus U+001C..U+001F.
bool is_python_space(std::uint32_t cp) {
  return (cp >= 0x1C && cp <= 0x1F) || (detail::code_point_class(cp) & detail::kClassWhiteSpace);
}

// Decodes the code point that ends at `end` (exclusive); returns its start. Invalid bytes:
// themselves.
std::size_t previous_char(std::string_view text, std::size_t end, std::uint32_t& cp) {
  std::size_t start = end - 1;
  while (start > 0 && end - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
    --start;
  const auto lead = static_cast<unsigned char>(text[start]);
  const std::size_t length = end - start;
  const std::size_t expected = lead < 0x80             ? 1
                               : (lead & 0xE0) == 0xC0 ? 2
                               : (lead & 0xF0) == 0xE0 ? 3
                               : (lead & 0xF8) == 0xF0 ? 4
                                                       : 0;
  if (expected != length) {
    cp = 0xFFFFFFFF;
    return end - 1;
  }
  cp = length == 1 ? lead : lead & (0x7F >> length);
  for (std::size_t i = start + 1; i < end; ++i)
    cp = (cp << 6) | (static_cast<unsigned char>(text[i]) & 0x3F);
  return start;
}

std::string_view python_strip(std::string_view text) {
  while (!text.empty()) {  // leading
    const auto lead = static_cast<unsigned char>(text[0]);
    std::uint32_t cp = lead;
    std::size_t length = 1;
    if (lead >= 0xC2 && lead <= 0xEF && text.size() >= 2) {
      length = lead < 0xE0 ? 2 : 3;
      if (text.size() < length) break;
      cp = lead < 0xE0 ? lead & 0x1F : lead & 0x0F;
      for (std::size_t i = 1; i < length; ++i)
        cp = (cp << 6) | (static_cast<unsigned char>(text[i]) & 0x3F);
    } else if (lead >= 0x80) {
      break;  // no White_Space code point needs 4 bytes
    }
    if (!is_python_space(cp)) break;
    text.remove_prefix(length);
  }
  while (!text.empty()) {  // trailing
    std::uint32_t cp;
    const std::size_t start = previous_char(text, text.size(), cp);
    if (!is_python_space(cp)) break;
    text.remove_suffix(text.size() - start);
  }
  return text;
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kSystem:
      return "system";
    case Role::kUser:
      return "user";
    case Role::kAssistant:
      return "assistant";
    case Role::kIpython:
      return "ipython";
  }
  return "user";
}

ChatStyle detect_chat_style(const Tokenizer& tokenizer, std::string_view chat_template) {
  if (!chat_template.empty()) {
    const bool is_31 = chat_template.find("Cutting Knowledge Date") != std::string_view::npos ||
                       chat_template.find("<|eom_id|>") != std::string_view::npos;
    return is_31 ? ChatStyle::kLlama31 : ChatStyle::kLlama30;
  }
  return tokenizer.find("<|eom_id|>") ? ChatStyle::kLlama31 : ChatStyle::kLlama30;
}

ChatFormat::ChatFormat(Tokenizer tokenizer, ChatOptions options)
    : tokenizer_(std::move(tokenizer)), options_(std::move(options)) {
  style_ = options_.style ? *options_.style : detect_chat_style(tokenizer_, options_.chat_template);
  start_header_ = special("<|start_header_id|>");
  end_header_ = special("<|end_header_id|>");
  eot_ = special("<|eot_id|>");
  eom_ = tokenizer_.find("<|eom_id|>");
  python_tag_ = tokenizer_.find("<|python_tag|>");
  if (tokenizer_.bos_id() < 0) {
    throw Error(ErrorCode::kInvalidArgument, "ChatFormat: the vocabulary has no BOS token");
  }
}

TokenId ChatFormat::special(std::string_view name) const {
  const auto id = tokenizer_.find(name);
  if (!id) {
    throw Error(ErrorCode::kInvalidArgument,
                "ChatFormat: the vocabulary has no " + std::string(name) + " token (not Llama 3?)");
  }
  return *id;
}

void ChatFormat::append_text(std::string_view text, std::vector<TokenId>& out) const {
  const auto ids = tokenizer_.encode(text);  // plain text: special-token text is not parsed
  out.insert(out.end(), ids.begin(), ids.end());
}

std::vector<TokenId> ChatFormat::encode_header(Role role) const {
  std::vector<TokenId> ids{start_header_};
  append_text(role_name(role), ids);
  ids.push_back(end_header_);
  append_text("\n\n", ids);
  return ids;
}

std::vector<TokenId> ChatFormat::encode_message(const Message& message) const {
  // "\n\n" and the content are one text, as a chat template renders them: content that starts with
  // white space (untrimmed ipython results) then splits as the templates' tokenization does.
  std::vector<TokenId> ids{start_header_};
  append_text(role_name(message.role), ids);
  ids.push_back(end_header_);
  if (message.tool_call) {
    if (!python_tag_ || !eom_) {
      throw Error(
          ErrorCode::kInvalidArgument,
          "ChatFormat: tool calls need <|python_tag|> and <|eom_id|> (Llama 3.1+ vocabulary)");
    }
    append_text("\n\n", ids);
    ids.push_back(*python_tag_);
    append_text(message.content, ids);
    ids.push_back(*eom_);
    return ids;
  }
  const bool trim = !(style_ == ChatStyle::kLlama31 && message.role == Role::kIpython);
  const std::string_view content =
      trim ? python_strip(message.content) : std::string_view(message.content);
  append_text("\n\n" + std::string(content), ids);
  ids.push_back(eot_);
  return ids;
}

std::vector<TokenId> ChatFormat::encode_dialog_prompt(const Dialog& dialog,
                                                      bool add_generation_prompt) const {
  std::vector<TokenId> ids{tokenizer_.bos_id()};
  std::size_t first = 0;
  if (style_ == ChatStyle::kLlama31) {
    std::string system;
    if (options_.ipython_environment || !options_.builtin_tools.empty() || !options_.tools.empty())
      system += "Environment: ipython\n";
    if (!options_.builtin_tools.empty()) {
      // code_interpreter is enabled by "Environment: ipython" alone; the templates leave it out of
      // this line (reject('equalto', 'code_interpreter')).
      std::string listed;
      for (const std::string& tool : options_.builtin_tools) {
        if (tool == "code_interpreter") continue;
        listed += (listed.empty() ? "" : ", ") + tool;
      }
      system += "Tools: " + listed + "\n\n";
    }
    system += "Cutting Knowledge Date: December 2023\nToday Date: " + options_.today_date + "\n\n";
    const std::string tool_list = detail::render_tool_definitions(options_.tools);
    const bool tools_in_user = !options_.tools.empty() && options_.tools_in_user_message;
    if (!options_.tools.empty() && !options_.tools_in_user_message) {
      system +=
          "You have access to the following functions. To call a function, please respond "
          "with JSON for a function call." +
          std::string(detail::kToolCallFormat) + tool_list;
    }
    if (!dialog.empty() && dialog.front().role == Role::kSystem) {
      system += python_strip(dialog.front().content);
      first = 1;
    }
    ids.push_back(start_header_);
    append_text(role_name(Role::kSystem), ids);
    ids.push_back(end_header_);
    append_text("\n\n" + system, ids);
    ids.push_back(eot_);
    if (tools_in_user) {
      // The templates put the definitions before the first message after the system one, as a
      // user turn (whatever that message's role).
      if (first >= dialog.size()) {
        throw Error(ErrorCode::kInvalidArgument,
                    "ChatFormat: tools in the user message need a first user message");
      }
      ids.push_back(start_header_);
      append_text(role_name(Role::kUser), ids);
      ids.push_back(end_header_);
      append_text(
          "\n\nGiven the following functions, please respond with a JSON for a function "
          "call with its proper arguments that best answers the given prompt.\n\n" +
              std::string(detail::kToolCallFormat) + tool_list +
              std::string(python_strip(dialog[first].content)),
          ids);
      ids.push_back(eot_);
      ++first;
    }
  }
  for (std::size_t i = first; i < dialog.size(); ++i) {
    const auto message = encode_message(dialog[i]);
    ids.insert(ids.end(), message.begin(), message.end());
  }
  if (add_generation_prompt) {
    const auto header = encode_header(Role::kAssistant);
    ids.insert(ids.end(), header.begin(), header.end());
  }
  return ids;
}

}  // namespace llama3
