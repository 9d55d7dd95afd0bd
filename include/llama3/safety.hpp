// Safety layer, model-independent parts: an insecure-code scanner for code a model writes, and the
// prompt text and verdict parsing of the Llama Guard 2/3 classifiers (the class that runs a Guard
// model is built on these and on the Session API).
//
// Thread safety: a CodeScanner is immutable after construction; one instance may be used from many
// threads at once, and copies share their compiled rules. The free functions are pure.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llama3 {

// ---------------------------------------------------------------------------------------------------
// Insecure-code scanner
// ---------------------------------------------------------------------------------------------------

enum class Severity { kError, kWarning, kAdvice };

// What the caller should do with scanned code: kBlock if any finding is an error, kWarn if there
// are only warnings or advice, kIgnore if there are none (the Code Shield convention).
enum class Treatment { kIgnore, kWarn, kBlock };

// "error", "warning", "advice" / "ignore", "warn", "block".
const char* severity_name(Severity severity) noexcept;
const char* treatment_name(Treatment treatment) noexcept;

struct CodeFinding {
  std::string rule_id;      // e.g. "c.strcpy"
  std::string cwe_id;       // e.g. "CWE-120"
  std::string description;  // why the pattern is insecure and what to use instead
  std::string language;     // canonical language the rule matched under ("c", "python", "any", ...)
  Severity severity = Severity::kWarning;
  int line = 0;              // 1-based
  int column = 0;            // 1-based, in Unicode code points of the original text
  std::string matched_text;  // the matched source text (cut to at most 200 bytes)
};

struct CodeScanResult {
  std::vector<CodeFinding> findings;  // ordered by position, then rule id
  Treatment treatment = Treatment::kIgnore;
  bool is_insecure() const { return !findings.empty(); }
};

namespace detail {
class CodeScannerImpl;
}

class CodeScanner {
 public:
  // The rule set compiled into the library (a copy of data/safety/code_rules.json taken at build
  // time).
  static CodeScanner with_builtin_rules();
  // A rule set in the same JSON format. Throws llama3::Error (kIo, or kBadFormat naming the rule
  // and field at fault, e.g. a regex RE2 rejects).
  static CodeScanner from_rules_file(const std::filesystem::path& path);
  static CodeScanner from_rules_json(std::string_view json_text,
                                     const std::string& origin = "<json>");

  // Scans `code` written in `language` (a name or alias such as "cpp", "c++", "py", "js", "ts",
  // "cs", "rs"). An empty language scans with every language's rules, as Code Shield does. Comments
  // are never matched; string-literal contents only by rules that must look inside strings (SQL,
  // secrets). Throws llama3::Error(kInvalidArgument) for a language it does not know.
  CodeScanResult scan(std::string_view code, std::string_view language = "") const;

  // Scans each fenced code block (``` or ~~~) of a Markdown text with its fence's language tag (no
  // tag: every language; a tag naming no supported language: the language-agnostic rules). Line
  // numbers are relative to the whole text. An unclosed final fence (a streamed answer) is scanned
  // too.
  CodeScanResult scan_markdown(std::string_view text) const;

  // Canonical names of the languages scan() accepts, and whether a name or alias is one of them.
  static std::vector<std::string> supported_languages();
  static bool is_supported_language(std::string_view language);

  std::size_t rule_count() const;

  explicit CodeScanner(std::shared_ptr<const detail::CodeScannerImpl> impl);

 private:
  std::shared_ptr<const detail::CodeScannerImpl> impl_;
};

// ---------------------------------------------------------------------------------------------------
// Llama Guard prompts and verdicts
// ---------------------------------------------------------------------------------------------------

// kGuard2: Llama Guard 2 8B (S1–S11, [INST] text prompt). kGuard3: Llama Guard 3 8B (S1–S14, Llama
// 3 header format). kGuard3_1B: Llama Guard 3 1B (S1–S13).
enum class GuardVersion { kGuard2, kGuard3, kGuard3_1B };

struct GuardCategory {
  std::string code;  // "S1"; what the model answers with
  std::string name;  // "Violent Crimes" (a final period is added in the prompt unless present)
  std::string
      description;  // optional policy text, written on the line after the name when non-empty
};

struct GuardPolicy {
  GuardVersion version = GuardVersion::kGuard3;
  std::vector<GuardCategory> categories;
  // Codes of categories left out of the prompt. The others keep their codes (no renumbering), as
  // the Llama Guard 3 chat template does.
  std::vector<std::string> excluded;

  // The model's own category list, without descriptions, nothing excluded.
  static GuardPolicy defaults(GuardVersion version);
};

// One turn of the conversation to classify. role is "user" or "assistant".
struct ChatTurn {
  std::string role;
  std::string content;
};

// The exact prompt text. Classifies the last turn: role 'User' when it is the user's (prompt
// classification), 'Agent' when it is the assistant's (response classification).
//  - kGuard2: plain "[INST] ... [/INST]" text; encode it with add_bos (the tokenizer adds
//    <|begin_of_text|>) and without parse_special.
//  - kGuard3, kGuard3_1B: Llama 3 header format starting with "<|begin_of_text|>" and ending with
//  the
//    open assistant header; encode it with parse_special and without add_bos.
// Throws llama3::Error(kInvalidArgument) for an empty conversation, a role other than
// user/assistant, an empty or duplicated category code, or an excluded code that names no category.
std::string build_guard_prompt(const GuardPolicy& policy, std::span<const ChatTurn> conversation);

struct GuardVerdict {
  enum class Kind { kSafe, kUnsafe, kMalformed };
  Kind kind = Kind::kMalformed;
  std::vector<std::string> categories;  // violated codes, in the model's order (kUnsafe only)
  std::string raw;                      // the generated text as given
  float unsafe_probability = -1;  // set by the Guard runner from first-token logits; -1 if unknown
};

// Parses the model's answer: "safe", or "unsafe" then a line of comma-separated codes ("S1,S2"),
// with surrounding white space and a trailing end-of-turn marker tolerated. "unsafe" alone gives
// kUnsafe with no categories. Anything else — other words, a code that is not among the policy's
// listed (non-excluded) categories, extra lines — is kMalformed, never guessed.
GuardVerdict parse_guard_output(std::string_view generated, const GuardPolicy& policy);

}  // namespace llama3
