// Parsing what a Llama Guard model generated. A safety decision must never rest on a guess, so
// anything outside the trained output format is reported as malformed.
#include <set>
#include <string>
#include <vector>

#include "llama3/safety.hpp"

namespace llama3 {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

// The end-of-turn token may be rendered into the text when the caller decodes with special tokens.
std::string_view drop_end_markers(std::string_view text) {
  for (bool changed = true; changed;) {
    changed = false;
    text = trim(text);
    for (std::string_view marker : {"<|eot_id|>", "<|end_of_text|>", "</s>"}) {
      if (text.ends_with(marker)) {
        text.remove_suffix(marker.size());
        changed = true;
      }
    }
  }
  return text;
}

}  // namespace

GuardVerdict parse_guard_output(std::string_view generated, const GuardPolicy& policy) {
  GuardVerdict verdict;
  verdict.raw = std::string(generated);
  verdict.kind = GuardVerdict::Kind::kMalformed;

  const std::string_view text = drop_end_markers(generated);
  const auto newline = text.find('\n');
  const std::string_view first = trim(text.substr(0, newline));
  const std::string_view rest =
      newline == std::string_view::npos ? std::string_view() : trim(text.substr(newline + 1));

  if (first == "safe") {
    if (rest.empty()) verdict.kind = GuardVerdict::Kind::kSafe;
    return verdict;
  }
  if (first != "unsafe") return verdict;
  if (rest.find('\n') != std::string_view::npos) return verdict;  // more than one line of codes

  std::set<std::string_view> listed;
  for (const auto& category : policy.categories) listed.insert(category.code);
  for (const auto& code : policy.excluded) listed.erase(code);

  std::vector<std::string> codes;
  std::size_t start = 0;
  while (!rest.empty() && start <= rest.size()) {
    const auto comma = rest.find(',', start);
    const std::string_view code =
        trim(rest.substr(start, comma == std::string_view::npos ? rest.npos : comma - start));
    if (code.empty() || !listed.count(code)) return verdict;  // unknown or empty code
    bool repeated = false;
    for (const auto& seen : codes) repeated = repeated || seen == code;
    if (!repeated) codes.emplace_back(code);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  verdict.kind = GuardVerdict::Kind::kUnsafe;
  verdict.categories = std::move(codes);
  return verdict;
}

}  // namespace llama3
