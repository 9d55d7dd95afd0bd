// Llama Guard as generation-loop filters: the prompt is classified before prefill, the answer once
// it is complete (a partial answer is not what Llama Guard was trained to judge).
#include <cstdio>
#include <string>
#include <vector>

#include "llama3/safety.hpp"

namespace llama3 {

namespace {

constexpr std::string_view kStartHeader = "<|start_header_id|>";
constexpr std::string_view kEndHeader = "<|end_header_id|>";

std::string describe(const GuardVerdict& verdict) {
  std::string text = std::string("llama guard: ") + guard_verdict_kind_name(verdict.kind);
  if (!verdict.categories.empty()) {
    text += ' ';
    for (std::size_t i = 0; i < verdict.categories.size(); ++i) {
      text += (i ? "," : "") + verdict.categories[i];
    }
  }
  char probability[48];
  std::snprintf(probability, sizeof probability, " (P(unsafe)=%.4g)",
                static_cast<double>(verdict.unsafe_probability));
  text += probability;
  if (verdict.threshold_overrode_text) text += " [threshold overrode the text]";
  return text;
}

}  // namespace

// System and ipython turns are instructions and tool output, not what Guard classifies.
std::vector<ChatTurn> guard_turns_from_prompt_text(std::string_view text) {
  constexpr std::string_view kBegin = "<|begin_of_text|>";
  if (text.starts_with(kBegin)) text.remove_prefix(kBegin.size());
  if (text.find(kStartHeader) == std::string_view::npos) return {{"user", std::string(text)}};

  std::vector<ChatTurn> turns;
  for (auto at = text.find(kStartHeader); at != std::string_view::npos;) {
    const auto role_begin = at + kStartHeader.size();
    const auto role_end = text.find(kEndHeader, role_begin);
    if (role_end == std::string_view::npos) break;
    const std::string_view role = text.substr(role_begin, role_end - role_begin);
    auto content_begin = role_end + kEndHeader.size();
    if (text.substr(content_begin).starts_with("\n\n")) content_begin += 2;
    const auto next = text.find(kStartHeader, content_begin);
    std::string_view content = next == std::string_view::npos
                                   ? text.substr(content_begin)
                                   : text.substr(content_begin, next - content_begin);
    for (std::string_view end : {"<|eot_id|>", "<|eom_id|>"}) {
      if (content.ends_with(end)) content.remove_suffix(end.size());
    }
    if (role == "user" || role == "assistant")
      turns.push_back({std::string(role), std::string(content)});
    at = next;
  }
  // The open assistant header (and any prefilled answer start) is not part of the prompt to judge.
  while (!turns.empty() && turns.back().role == "assistant") turns.pop_back();
  return turns;
}

InputFilter guard_input_filter(Guard& guard, bool block_malformed) {
  return [&guard, block_malformed](std::string_view prompt_text) {
    const std::vector<ChatTurn> turns = guard_turns_from_prompt_text(prompt_text);
    if (turns.empty()) return InputVerdict::allow();  // no user text to judge
    const GuardVerdict verdict = guard.classify_prompt(turns);
    const bool block = verdict.kind == GuardVerdict::Kind::kUnsafe ||
                       (verdict.kind == GuardVerdict::Kind::kMalformed && block_malformed);
    return block ? InputVerdict::deny(describe(verdict)) : InputVerdict::allow();
  };
}

OutputFilter guard_output_filter(Guard& guard, std::vector<ChatTurn> prompt, bool block_malformed) {
  return [&guard, prompt = std::move(prompt), block_malformed](const OutputEvent& event) {
    if (!event.is_final || event.text.empty()) return OutputVerdict::pass();
    std::vector<ChatTurn> conversation = prompt;
    conversation.push_back({"assistant", std::string(event.text)});
    const GuardVerdict verdict = guard.classify_response(conversation);
    OutputVerdict result = OutputVerdict::annotate(describe(verdict));
    const bool block = verdict.kind == GuardVerdict::Kind::kUnsafe ||
                       (verdict.kind == GuardVerdict::Kind::kMalformed && block_malformed);
    if (block) {
      result.action = OutputVerdict::Action::kStop;
      result.reason = result.note;
    }
    return result;
  };
}

}  // namespace llama3
