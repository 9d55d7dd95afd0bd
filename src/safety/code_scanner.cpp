// CodeScanner: runs the rule set (compiled once with RE2, which matches in linear time, so hostile
// model output cannot make a scan hang) over lexed views of the code.
#include <re2/re2.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "llama3/error.hpp"
#include "llama3/safety.hpp"
#include "safety/code_rules.hpp"
#include "safety/languages.hpp"
#include "safety/markdown_fences.hpp"
#include "safety/source_lexer.hpp"

namespace llama3 {

namespace detail {

using safety::CodeRule;
using safety::Language;
using safety::LexedSource;
using safety::RuleScope;

class CodeScannerImpl {
 public:
  explicit CodeScannerImpl(std::vector<CodeRule> rules, const std::string& origin) {
    RE2::Options options;
    // Every pattern is ASCII; Latin-1 lets `.` and [^x] step over any byte, valid UTF-8 or not.
    options.set_encoding(RE2::Options::EncodingLatin1);
    options.set_log_errors(false);
    for (auto& rule : rules) {
      CompiledRule compiled{std::move(rule), nullptr, nullptr};
      compiled.pattern = std::make_unique<RE2>(compiled.spec.regex, options);
      check(*compiled.pattern, compiled.spec, origin, "regex");
      if (RE2::FullMatch("", *compiled.pattern)) {
        throw Error(ErrorCode::kBadFormat,
                    origin + ": rule " + compiled.spec.id + ": regex matches the empty string");
      }
      if (!compiled.spec.unless.empty()) {
        compiled.unless = std::make_unique<RE2>(compiled.spec.unless, options);
        check(*compiled.unless, compiled.spec, origin, "unless");
      }
      rules_.push_back(std::move(compiled));
    }
  }

  std::size_t rule_count() const { return rules_.size(); }

  // language: nullopt scans with every language's rules. agnostic_only: only the "any" rules (a
  // Markdown block tagged with a language we have no rules for).
  CodeScanResult scan(std::string_view code, std::optional<Language> language,
                      bool agnostic_only) const {
    std::vector<Hit> hits;
    if (agnostic_only) {
      run_agnostic(safety::lex_source(code, safety::generic_lex_syntax()), "any", hits);
    } else if (language) {
      const LexedSource views = safety::lex_source(code, safety::lex_syntax(*language));
      run_language(views, *language, hits);
      run_agnostic(views, safety::language_name(*language), hits);
    } else {
      for (const Language each : safety::all_languages()) {
        run_language(safety::lex_source(code, safety::lex_syntax(each)), each, hits);
      }
      run_agnostic(safety::lex_source(code, safety::generic_lex_syntax()), "any", hits);
    }
    return to_result(code, std::move(hits));
  }

 private:
  struct CompiledRule {
    CodeRule spec;
    std::unique_ptr<RE2> pattern;
    std::unique_ptr<RE2> unless;
  };

  struct Hit {
    std::size_t offset;
    std::size_t length;
    std::size_t rule;
    std::string_view language;
  };

  // Enough to show every real problem; bounds the output for a hostile input of a million matches.
  static constexpr int kMaxMatchesPerRule = 256;
  static constexpr std::size_t kMaxMatchedText = 200;

  static void check(const RE2& regex, const CodeRule& rule, const std::string& origin,
                    const char* field) {
    if (!regex.ok()) {
      throw Error(ErrorCode::kBadFormat, origin + ": rule " + rule.id + ": field '" + field +
                                             "' is not a valid RE2 pattern: " + regex.error());
    }
  }

  void run_language(const LexedSource& views, Language language, std::vector<Hit>& hits) const {
    for (std::size_t r = 0; r < rules_.size(); ++r) {
      const auto& languages = rules_[r].spec.languages;
      if (std::find(languages.begin(), languages.end(), language) == languages.end()) continue;
      run_rule(r, views, safety::language_name(language), hits);
    }
  }

  void run_agnostic(const LexedSource& views, std::string_view language,
                    std::vector<Hit>& hits) const {
    for (std::size_t r = 0; r < rules_.size(); ++r) {
      if (rules_[r].spec.any_language) run_rule(r, views, language, hits);
    }
  }

  void run_rule(std::size_t r, const LexedSource& views, std::string_view language,
                std::vector<Hit>& hits) const {
    const CompiledRule& rule = rules_[r];
    const std::string& view =
        rule.spec.scope == RuleScope::kCode ? views.code : views.code_and_strings;
    const re2::StringPiece input(view);
    // A rule may mark the part to report with its first participating group, so that context it
    // needs (e.g. "not preceded by '.'") does not shift the reported column.
    const int groups = rule.pattern->NumberOfCapturingGroups();
    std::vector<re2::StringPiece> submatches(static_cast<std::size_t>(groups) + 1);
    std::size_t pos = 0;
    for (int count = 0; count < kMaxMatchesPerRule && pos <= view.size(); ++count) {
      if (!rule.pattern->Match(input, pos, view.size(), RE2::UNANCHORED, submatches.data(),
                               groups + 1)) {
        break;
      }
      const re2::StringPiece& match = submatches[0];
      const auto match_start = static_cast<std::size_t>(match.data() - view.data());
      const std::size_t match_end = match_start + match.size();
      std::size_t start = match_start;
      for (int g = 1; g <= groups; ++g) {
        if (submatches[g].data() != nullptr) {
          start = static_cast<std::size_t>(submatches[g].data() - view.data());
          break;
        }
      }
      if (!rule.unless || !RE2::PartialMatch(match, *rule.unless)) {
        hits.push_back({start, match_end - start, r, language});
      }
      pos = std::max(match_end, match_start + 1);
    }
  }

  CodeScanResult to_result(std::string_view code, std::vector<Hit> hits) const {
    // One finding per rule and position, even when several languages' passes found it.
    std::sort(hits.begin(), hits.end(), [this](const Hit& a, const Hit& b) {
      if (a.offset != b.offset) return a.offset < b.offset;
      return rules_[a.rule].spec.id < rules_[b.rule].spec.id;
    });
    std::vector<std::size_t> line_starts{0};
    for (std::size_t i = 0; i < code.size(); ++i) {
      if (code[i] == '\n') line_starts.push_back(i + 1);
    }
    CodeScanResult result;
    std::set<std::pair<std::size_t, std::size_t>> seen;
    for (const Hit& hit : hits) {
      if (!seen.insert({hit.rule, hit.offset}).second) continue;
      const CodeRule& spec = rules_[hit.rule].spec;
      const auto line_it = std::upper_bound(line_starts.begin(), line_starts.end(), hit.offset) - 1;
      int column = 1;
      for (std::size_t i = *line_it; i < hit.offset; ++i) {
        if ((static_cast<unsigned char>(code[i]) & 0xC0) != 0x80) ++column;
      }
      std::size_t length = std::min(hit.length, kMaxMatchedText);
      while (length < hit.length && length > 0 &&
             (static_cast<unsigned char>(code[hit.offset + length]) & 0xC0) == 0x80) {
        --length;  // do not cut a UTF-8 character in half
      }
      result.findings.push_back(CodeFinding{spec.id, spec.cwe_id, spec.description,
                                            std::string(hit.language), spec.severity,
                                            static_cast<int>(line_it - line_starts.begin()) + 1,
                                            column, std::string(code.substr(hit.offset, length))});
    }
    result.treatment = Treatment::kIgnore;
    for (const auto& finding : result.findings) {
      if (finding.severity == Severity::kError) {
        result.treatment = Treatment::kBlock;
        break;
      }
      result.treatment = Treatment::kWarn;
    }
    return result;
  }

  std::vector<CompiledRule> rules_;
};

}  // namespace detail

const char* severity_name(Severity severity) noexcept {
  switch (severity) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kAdvice:
      return "advice";
  }
  return "unknown";
}

const char* treatment_name(Treatment treatment) noexcept {
  switch (treatment) {
    case Treatment::kIgnore:
      return "ignore";
    case Treatment::kWarn:
      return "warn";
    case Treatment::kBlock:
      return "block";
  }
  return "unknown";
}

CodeScanner::CodeScanner(std::shared_ptr<const detail::CodeScannerImpl> impl)
    : impl_(std::move(impl)) {}

CodeScanner CodeScanner::from_rules_json(std::string_view json_text, const std::string& origin) {
  return CodeScanner(std::make_shared<const detail::CodeScannerImpl>(
      safety::parse_code_rules(json_text, origin), origin));
}

CodeScanner CodeScanner::with_builtin_rules() {
  // Compiling ~100 patterns takes milliseconds; callers that scan often keep the scanner (it is
  // immutable and shareable), so there is no hidden global cache here.
  return from_rules_json(safety::builtin_code_rules_json(), "<builtin code_rules.json>");
}

CodeScanner CodeScanner::from_rules_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(ErrorCode::kIo, path.string() + ": cannot open the rules file");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw Error(ErrorCode::kIo, path.string() + ": cannot read the rules file");
  return from_rules_json(text.str(), path.string());
}

CodeScanResult CodeScanner::scan(std::string_view code, std::string_view language) const {
  if (language.empty()) return impl_->scan(code, std::nullopt, false);
  const auto parsed = safety::parse_language(language);
  if (!parsed) {
    throw Error(ErrorCode::kInvalidArgument,
                "code scanner: unknown language '" + std::string(language) + "'");
  }
  return impl_->scan(code, parsed, false);
}

CodeScanResult CodeScanner::scan_markdown(std::string_view text) const {
  CodeScanResult result;
  for (const auto& block : safety::find_fenced_blocks(text)) {
    const auto language = safety::parse_language(block.info);
    CodeScanResult part = impl_->scan(block.content, language, !block.info.empty() && !language);
    for (auto& finding : part.findings) {
      finding.line += block.first_line - 1;
      result.findings.push_back(std::move(finding));
    }
    result.treatment = std::max(result.treatment, part.treatment);
  }
  return result;
}

std::vector<std::string> CodeScanner::supported_languages() {
  std::vector<std::string> names;
  for (const auto language : safety::all_languages()) {
    names.emplace_back(safety::language_name(language));
  }
  return names;
}

bool CodeScanner::is_supported_language(std::string_view language) {
  return safety::parse_language(language).has_value();
}

std::size_t CodeScanner::rule_count() const {
  return impl_->rule_count();
}

}  // namespace llama3
