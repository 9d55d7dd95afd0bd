// A caller's blocked phrases as generation-loop filters: the simplest safety check there is, and
// the one an application needs for its own words (product names, slurs, secrets) that no
// classifier knows about.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "llama3/error.hpp"
#include "llama3/safety.hpp"

namespace llama3 {

namespace {

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string ascii_lowered(std::string_view text) {
  std::string lowered(text);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), ascii_lower);
  return lowered;
}

// The phrases lowered once; a check compares the text's bytes lowered as it goes (no copy per
// piece).
class PhraseMatcher {
 public:
  explicit PhraseMatcher(const std::vector<std::string>& phrases) {
    for (std::size_t i = 0; i < phrases.size(); ++i) {
      if (phrases[i].empty()) {
        throw Error(ErrorCode::kInvalidArgument,
                    "blocked phrase " + std::to_string(i) + " is empty (it would match any text)");
      }
      phrases_.push_back(phrases[i]);
      lowered_.push_back(ascii_lowered(phrases[i]));
    }
  }

  // The first phrase (in the caller's order) that occurs in `text` ending after byte `from`, or
  // nullptr. Only matches that end after `from` are new when `text` grew by a piece at `from`.
  const std::string* find(std::string_view text, std::size_t from = 0) const {
    for (std::size_t i = 0; i < lowered_.size(); ++i) {
      const std::string& phrase = lowered_[i];
      const std::size_t start = from >= phrase.size() ? from - phrase.size() + 1 : 0;
      if (start >= text.size()) continue;
      const auto tail = text.substr(start);
      const auto match = std::search(tail.begin(), tail.end(), phrase.begin(), phrase.end(),
                                     [](char t, char p) { return ascii_lower(t) == p; });
      if (match != tail.end()) return &phrases_[i];
    }
    return nullptr;
  }

 private:
  std::vector<std::string> phrases_;  // as given, for the reason
  std::vector<std::string> lowered_;
};

std::string describe(const std::string& phrase, const char* where) {
  return "blocked phrase: \"" + phrase + "\" in the " + where;
}

}  // namespace

InputFilter blocked_phrases_input_filter(const std::vector<std::string>& phrases) {
  auto matcher = std::make_shared<const PhraseMatcher>(phrases);
  return [matcher](std::string_view prompt_text) {
    const std::string* found = matcher->find(prompt_text);
    return found ? InputVerdict::deny(describe(*found, "prompt")) : InputVerdict::allow();
  };
}

OutputFilter blocked_phrases_output_filter(const std::vector<std::string>& phrases) {
  auto matcher = std::make_shared<const PhraseMatcher>(phrases);
  return [matcher](const OutputEvent& event) {
    // Mid-stream: only a match completed by this piece is new (earlier text was checked).
    // At the end: the whole text, which an earlier filter's final redaction may have changed.
    const std::size_t from = event.is_final ? 0 : event.text.size() - event.piece.size();
    const std::string* found = matcher->find(event.text, from);
    return found ? OutputVerdict::stop(describe(*found, "answer")) : OutputVerdict::pass();
  };
}

}  // namespace llama3
