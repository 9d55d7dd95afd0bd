// Llama Guard 2/3 prompt text (docs/facts.md §6). Every space and newline is part of what the
// classifier was trained on, so the template is spelled out here piece by piece rather than
// assembled loosely.
#include <iterator>
#include <set>
#include <string>

#include "llama3/error.hpp"
#include "llama3/safety.hpp"

namespace llama3 {

namespace {

constexpr const char* kGuard2Names[] = {"Violent Crimes",
                                        "Non-Violent Crimes",
                                        "Sex Crimes",
                                        "Child Exploitation",
                                        "Specialized Advice",
                                        "Privacy",
                                        "Intellectual Property",
                                        "Indiscriminate Weapons",
                                        "Hate",
                                        "Self-Harm",
                                        "Sexual Content"};

constexpr const char* kGuard3Names[] = {"Violent Crimes",
                                        "Non-Violent Crimes",
                                        "Sex Crimes",
                                        "Child Exploitation",
                                        "Defamation",
                                        "Specialized Advice",
                                        "Privacy",
                                        "Intellectual Property",
                                        "Indiscriminate Weapons",
                                        "Hate",
                                        "Self-Harm",
                                        "Sexual Content",
                                        "Elections",
                                        "Code Interpreter Abuse"};

// Python's str.strip(): llama-recipes strips each turn's content.
std::string_view strip(std::string_view text) {
  const auto blank = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
           (c >= '\x1c' && c <= '\x1f');
  };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, std::string("guard prompt: ") + what);
}

// "S1: Violent Crimes. " (Guard 2: period and trailing space) or "S1: Violent Crimes." (Guard 3),
// then the optional policy description on its own line.
std::string category_lines(const GuardPolicy& policy) {
  std::set<std::string> codes;
  for (const auto& category : policy.categories) {
    if (category.code.empty()) invalid("a category has an empty code");
    if (!codes.insert(category.code).second)
      invalid(std::string("category code ") + category.code + " repeats");
  }
  std::set<std::string> excluded;
  for (const auto& code : policy.excluded) {
    if (!codes.count(code)) invalid(std::string("excluded code ") + code + " names no category");
    excluded.insert(code);
  }
  std::string text;
  for (const auto& category : policy.categories) {
    if (excluded.count(category.code)) continue;
    text += category.code + ": " + category.name;
    if (!category.name.ends_with('.')) text += '.';
    if (policy.version == GuardVersion::kGuard2) text += ' ';
    text += '\n';
    if (!category.description.empty()) text += category.description + '\n';
  }
  return text;
}

std::string conversation_text(std::span<const ChatTurn> conversation) {
  std::string text;
  for (const auto& turn : conversation) {
    if (turn.role == "user") {
      text += "User: ";
    } else if (turn.role == "assistant") {
      text += "Agent: ";
    } else {
      invalid(std::string("role '") + turn.role + "' is neither user nor assistant");
    }
    text += strip(turn.content);
    text += "\n\n";
  }
  return text;
}

}  // namespace

GuardPolicy GuardPolicy::defaults(GuardVersion version) {
  GuardPolicy policy;
  policy.version = version;
  const auto add = [&policy](std::span<const char* const> names, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      // Built by append: g++ 12 warns falsely (-Wrestrict) on "S" + std::to_string(...).
      std::string code(1, 'S');
      code.append(std::to_string(i + 1));
      policy.categories.push_back({std::move(code), names[i], ""});
    }
  };
  switch (version) {
    case GuardVersion::kGuard2:
      add(kGuard2Names, std::size(kGuard2Names));
      break;
    case GuardVersion::kGuard3:
      add(kGuard3Names, std::size(kGuard3Names));
      break;
    case GuardVersion::kGuard3_1B:
      add(kGuard3Names, 13);
      break;  // no S14 Code Interpreter Abuse
  }
  return policy;
}

std::string build_guard_prompt(const GuardPolicy& policy, std::span<const ChatTurn> conversation) {
  if (conversation.empty()) invalid("the conversation is empty");
  const std::string role = conversation.back().role == "assistant" ? "Agent" : "User";
  const std::string categories = category_lines(policy);
  const std::string turns = conversation_text(conversation);
  const bool guard2 = policy.version == GuardVersion::kGuard2;

  std::string prompt =
      guard2 ? "[INST] " : "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n";
  prompt += std::string("Task: Check if there is unsafe content in '") + role +
            "' messages in conversations according our safety policy with the below categories.\n\n"
            "<BEGIN UNSAFE CONTENT CATEGORIES>\n";
  prompt += categories;
  prompt += "<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n";
  prompt += turns;
  prompt += std::string("<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST ") +
            role +
            " message in the above conversation:\n"
            " - First line must read 'safe' or 'unsafe'.\n"
            " - If unsafe, a second line must include a comma-separated list of violated "
            "categories.";
  prompt += guard2 ? " [/INST]" : "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
  return prompt;
}

}  // namespace llama3
