// Chat on untrusted text: a dialog encoded with ChatFormat, and the tool-call parser reading a
// model's answer. Message contents come straight from the input, so a user who types header or
// end-of-turn text must not be able to forge a turn: every header the prompt holds must be one
// ChatFormat wrote. Input: byte 0 picks the chat style and tool options; the rest is split at
// NUL bytes into messages, each led by a byte that picks its role.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "fuzz_support.hpp"
#include "llama3/chat.hpp"

namespace {

llama3::Dialog split_messages(std::string_view text) {
  llama3::Dialog dialog;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\0'), text.size());
    std::string_view chunk = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (chunk.empty()) continue;
    llama3::Message message;
    message.role = static_cast<llama3::Role>(static_cast<unsigned char>(chunk[0]) % 4);
    message.tool_call = message.role == llama3::Role::kAssistant && (chunk[0] & 0x10) != 0;
    message.content = std::string(chunk.substr(1));
    dialog.push_back(std::move(message));
  }
  return dialog;
}
}  // namespace

// Loads the shared data before the first input, so its time is not charged to that input (libFuzzer
// would report it as a slow unit).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)llama3::fuzz::llama3_tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama3;
  if (size == 0) return 0;
  const std::string_view rest = fuzz::as_text(data + 1, size - 1);

  fuzz::reject_only_with_clear_errors([&] {
    ChatOptions options;
    options.style = (data[0] & 1) ? ChatStyle::kLlama31 : ChatStyle::kLlama30;
    options.ipython_environment = (data[0] & 2) != 0;
    if (data[0] & 4) options.builtin_tools = {"brave_search", "wolfram_alpha"};
    const ChatFormat format(llama3::fuzz::llama3_tokenizer(), options);
    const Dialog dialog = split_messages(rest);
    const std::vector<TokenId> ids = format.encode_dialog_prompt(dialog, (data[0] & 8) != 0);
    const TokenId header = *llama3::fuzz::llama3_tokenizer().find("<|start_header_id|>");
    const auto headers = std::count(ids.begin(), ids.end(), header);
    const auto system_block = options.style == ChatStyle::kLlama31 ? 1 : 0;
    fuzz::require(headers <= static_cast<long>(dialog.size()) + system_block + 1,
                  "no header token comes from message text");
  });

  fuzz::reject_only_with_clear_errors([&] {
    const ParsedReply reply = parse_tool_calls(rest);
    if (!reply.tool_calls.empty()) fuzz::require(reply.content.empty(), "calls or content");
    for (const ToolCall& call : reply.tool_calls) {
      const auto arguments = nlohmann::json::parse(call.arguments, nullptr, false);
      fuzz::require(!arguments.is_discarded() && arguments.is_object(),
                    "a call's arguments are a JSON object");
    }
  });
  return 0;
}
