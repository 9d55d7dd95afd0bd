// Tool definitions as Meta's Llama 3.1+ chat templates render them (shared by ChatFormat).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace llama3::detail {

// The templates' instruction that follows the opening sentence, both in the system block and in the
// first user message.
inline constexpr std::string_view kToolCallFormat =
    "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name "
    "and its value}.Do not use variables.\n\n";

// Each definition (JSON text) as `tojson(indent=4)` writes it, followed by "\n\n". Throws
// llama3::Error (kInvalidArgument) for invalid JSON.
std::string render_tool_definitions(const std::vector<std::string>& tools);

}  // namespace llama3::detail
