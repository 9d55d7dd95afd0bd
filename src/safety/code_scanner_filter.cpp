// The insecure-code scanner as an output filter: code in a streamed Markdown answer is scanned line
// by line as it arrives, so generation stops as soon as a line of blocking code is complete rather
// than after the whole answer has been shown.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "llama3/safety.hpp"
#include "safety/markdown_fences.hpp"

namespace llama3 {

namespace {

std::string describe(const CodeFinding& finding) {
  return finding.cwe_id + " " + finding.rule_id + " (" + severity_name(finding.severity) +
         ") at line " + std::to_string(finding.line) + ": " + finding.description;
}

// Per-generation memory of the filter: which blocks are finished and which findings were reported.
class StreamingCodeScan {
 public:
  explicit StreamingCodeScan(CodeScanner scanner) : scanner_(std::move(scanner)) {}

  OutputVerdict on_event(const OutputEvent& event) {
    // A shorter text than last time is a new generation (after a mid-stream stop there is no
    // final call to reset on).
    if (event.text.size() < seen_size_) reset();
    seen_size_ = event.text.size();
    if (event.is_final) {
      OutputVerdict verdict = report(scanner_.scan_markdown(event.text).findings);
      reset();
      return verdict;
    }
    if (event.piece.find('\n') == std::string_view::npos) return OutputVerdict::pass();
    // Only complete lines: a half-written line could match a pattern it will not end up matching.
    const std::string_view complete = event.text.substr(0, event.text.rfind('\n') + 1);
    const auto blocks = safety::find_fenced_blocks(complete);
    std::vector<CodeFinding> findings;
    for (std::size_t i = closed_blocks_; i < blocks.size(); ++i) {
      for (auto& finding : scan_block(blocks[i])) findings.push_back(std::move(finding));
      const auto& content = blocks[i].content;
      const auto content_end =
          static_cast<std::size_t>(content.data() - complete.data()) + content.size();
      // Closed when its closing fence line follows; an open block is scanned again as it grows.
      if (content_end < complete.size()) closed_blocks_ = i + 1;
    }
    OutputVerdict verdict = report(findings);
    if (verdict.action == OutputVerdict::Action::kStop) reset();
    return verdict;
  }

 private:
  // The block alone, re-fenced so scan_markdown applies the same language rules to it (a tag naming
  // no language: language-agnostic rules only; no tag: every language), with line numbers moved to
  // the whole answer's.
  std::vector<CodeFinding> scan_block(const safety::FencedBlock& block) const {
    std::string markdown = "~~~~~~~~~~";
    markdown.append(block.info);
    markdown += '\n';
    markdown.append(block.content);
    if (!markdown.ends_with('\n')) markdown += '\n';
    markdown += "~~~~~~~~~~\n";
    auto findings = scanner_.scan_markdown(markdown).findings;
    for (auto& finding : findings) finding.line += block.first_line - 2;
    return findings;
  }

  // New findings only: an error stops, the rest become one note.
  OutputVerdict report(const std::vector<CodeFinding>& findings) {
    std::string errors, notes;
    for (const auto& finding : findings) {
      const std::string key = finding.rule_id + ':' + std::to_string(finding.line) + ':' +
                              std::to_string(finding.column);
      if (!reported_.insert(key).second) continue;
      std::string& into = finding.severity == Severity::kError ? errors : notes;
      into += (into.empty() ? "" : "; ") + describe(finding);
    }
    OutputVerdict verdict = OutputVerdict::pass();
    if (!notes.empty()) verdict.note = "code scanner: " + notes;
    if (!errors.empty()) {
      verdict.action = OutputVerdict::Action::kStop;
      verdict.reason = "code scanner: BLOCK: " + errors;
    }
    return verdict;
  }

  void reset() {
    closed_blocks_ = 0;
    seen_size_ = 0;
    reported_.clear();
  }

  CodeScanner scanner_;
  std::size_t closed_blocks_ = 0;  // blocks before this index are closed and scanned
  std::size_t seen_size_ = 0;
  std::set<std::string> reported_;  // "rule:line:column" of findings already reported
};

}  // namespace

OutputFilter code_scanner_output_filter(const CodeScanner& scanner) {
  // Shared so that copies of the std::function (GenerateOptions is copied freely) keep one memory.
  auto state = std::make_shared<StreamingCodeScan>(scanner);
  return [state](const OutputEvent& event) { return state->on_event(event); };
}

}  // namespace llama3
