// Safety layer: an insecure-code scanner for code a model writes; the prompt text and verdict
// parsing of the Llama Guard 2/3 classifiers and a runner (Guard) for a loaded Guard model; and
// ready-made input/output filters for Session::generate built on both.
//
// Thread safety: a CodeScanner is immutable after construction; one instance may be used from many
// threads at once, and copies share their compiled rules. The free functions are pure. A Guard owns
// a Session and is used by one thread at a time (give each thread its own; they may share the
// Model).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llama3/model.hpp"
#include "llama3/session.hpp"
#include "llama3/tokenizer.hpp"

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

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

// Internal types stay hidden in the library (they are named here only as opaque pointers).
#pragma GCC visibility pop
namespace detail {
class CodeScannerImpl;
}
#pragma GCC visibility push(default)

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
  // Set by the Guard runner when the threshold decided the opposite of what the text said (see
  // Guard): the kind follows the threshold, `raw` keeps the text.
  bool threshold_overrode_text = false;
};

// Parses the model's answer: "safe", or "unsafe" then a line of comma-separated codes ("S1,S2"),
// with surrounding white space and a trailing end-of-turn marker tolerated. "unsafe" alone gives
// kUnsafe with no categories. Anything else — other words, a code that is not among the policy's
// listed (non-excluded) categories, extra lines — is kMalformed, never guessed.
GuardVerdict parse_guard_output(std::string_view generated, const GuardPolicy& policy);

// "Llama Guard 2" / "Llama Guard 3" / "Llama Guard 3 1B"; "guard2", "guard3", "guard3-1b" in JSON.
const char* guard_version_name(GuardVersion version) noexcept;
// "safe", "unsafe", "malformed".
const char* guard_verdict_kind_name(GuardVerdict::Kind kind) noexcept;

// The version a model name names: "Meta-Llama-Guard-2-8B" -> kGuard2, "Llama-Guard-3-8B" ->
// kGuard3, "Llama-Guard-3-1B" -> kGuard3_1B (case, spaces, '_' and '.' ignored); nullopt for a name
// that names no Llama Guard 2/3 (Llama Guard 1 is not supported).
std::optional<GuardVersion> guard_version_from_name(std::string_view name);

// Token ids of a prompt from build_guard_prompt, encoded as the version expects: Guard 2 with
// add_bos and no special-token parsing, Guard 3 with parse_special and no add_bos (the text
// carries its own <|begin_of_text|>).
std::vector<TokenId> encode_guard_prompt(const Tokenizer& tokenizer, GuardVersion version,
                                         std::string_view prompt_text);

// ---------------------------------------------------------------------------------------------------
// Llama Guard runner
// ---------------------------------------------------------------------------------------------------

struct GuardOptions {
  // Unset: from the model's metadata (general.name, else general.basename + general.size_label);
  // the constructor throws when neither names a version.
  std::optional<GuardVersion> version;
  std::vector<GuardCategory> categories;  // empty: the version's own list (GuardPolicy::defaults)
  std::vector<std::string> excluded_categories;  // codes left out of the prompt
  float threshold = 0.5f;                        // on P(unsafe) of the first generated token
  int max_new_tokens = 20;                       // greedy tokens generated for the verdict text
  int n_threads = 0;                             // 0: one per hardware thread
  int n_ctx = 0;                                 // 0: the model's, capped at 4096
};

// Internal types stay hidden in the library (they are named here only as opaque pointers).
#pragma GCC visibility pop
namespace detail {
class GuardImpl;
}
#pragma GCC visibility push(default)

// Runs a loaded Llama Guard 2/3 model over a conversation. Each call builds the exact prompt
// (build_guard_prompt), decodes it in a fresh context, takes P(unsafe) = softmax over the whole
// vocabulary of the first generated token's logits, at the first token of "unsafe"; then generates
// greedily (at most max_new_tokens, until end of generation) and parses the text.
//
// The threshold rule: text that is not a well-formed verdict is kMalformed whatever the
// probability (never guessed). For a well-formed verdict the threshold decides: kUnsafe when
// P(unsafe) >= threshold, else kSafe. The model card scores Llama Guard this way, and it is what a
// caller tuning the threshold for fewer false positives or negatives expects. Categories are the
// codes the text lists; when the threshold says unsafe but the text said "safe" there are none, and
// when it says safe they are dropped; either way threshold_overrode_text is set. At the default
// 0.5 the two rarely differ: P(unsafe) >= 0.5 makes "unsafe" the greedy first token.
class Guard {
 public:
  // Throws llama3::Error(kInvalidArgument) when the model has no tokenizer, the version cannot be
  // told, the threshold is outside [0, 1], max_new_tokens < 1, or the policy is invalid.
  explicit Guard(const Model& model, GuardOptions options = {});
  ~Guard();
  Guard(Guard&&) noexcept;
  Guard& operator=(Guard&&) noexcept;

  // Classifies the last turn of `conversation` (roles "user"/"assistant"): as a prompt (role
  // 'User') when it is the user's, as a response (role 'Agent') when it is the assistant's.
  GuardVerdict classify(std::span<const ChatTurn> conversation);
  // The same, but throw kInvalidArgument unless the last turn is the user's / the assistant's.
  GuardVerdict classify_prompt(std::span<const ChatTurn> conversation);
  GuardVerdict classify_response(std::span<const ChatTurn> conversation);

  // The token ids classify() decodes for `conversation`.
  std::vector<TokenId> prompt_tokens(std::span<const ChatTurn> conversation) const;

  const GuardPolicy& policy() const;
  GuardVersion version() const;
  float threshold() const;
  TokenId unsafe_token() const;  // the first token of "unsafe"

 private:
  std::unique_ptr<detail::GuardImpl> impl_;
};

// ---------------------------------------------------------------------------------------------------
// Ready-made filters for GenerateOptions (session.hpp). Each keeps a reference to `guard`, which
// must outlive the filter; a Guard is not thread-safe, so give each generating thread its own.
// ---------------------------------------------------------------------------------------------------

// Classifies the prompt before prefill and blocks an unsafe one (reason: "llama guard: unsafe S1,S9
// (P(unsafe)=0.97)"). The prompt text is read as a Llama 3 chat (user and assistant turns from its
// headers; system and ipython turns are not Guard input, and trailing assistant turns are dropped
// so the last user turn is classified); text without headers is one user turn. A malformed verdict
// blocks too unless block_malformed is false: a safety check that cannot answer fails closed.
InputFilter guard_input_filter(Guard& guard, bool block_malformed = true);

// Classifies the answer once, at the end, as a response to `prompt` (the conversation before the
// answer; its last turn is the user's): unsafe -> kStop (the result becomes kFiltered with the
// reason), malformed -> kStop as well unless block_malformed is false (then a note). Every outcome
// also leaves a note ("llama guard: safe (P(unsafe)=0.02)").
OutputFilter guard_output_filter(Guard& guard, std::vector<ChatTurn> prompt,
                                 bool block_malformed = true);

// Scans Markdown fenced code as the answer streams: whenever a piece completes a line inside a code
// block (or closes it), that block is scanned with its fence's language tag. A finding of error
// severity (treatment BLOCK) stops generation and withholds the piece; warnings and advice become
// notes ("code scanner: CWE-328 python.hashlib-md5 at line 4: ..."), each finding once. At the end
// the whole text is scanned once more (scan_markdown), catching an unclosed final block: BLOCK then
// marks the result kFiltered. The scanner is copied (copies share the compiled rules).
OutputFilter code_scanner_output_filter(const CodeScanner& scanner);

// The user and assistant turns of a prompt's text (decoded with special tokens rendered), as the
// Guard filters read it: a Llama 3 chat gives its user and assistant turns (system and ipython
// turns are not Guard input; trailing assistant turns, such as the open assistant header, are
// dropped); text without headers is one user turn. What guard_output_filter needs as `prompt` when
// a caller has only the prompt's tokens.
std::vector<ChatTurn> guard_turns_from_prompt_text(std::string_view prompt_text);

// A caller's blocked phrases (words, names, secrets no classifier knows about), matched ASCII
// case-insensitively in the raw text (bytes outside ASCII compare exactly). Both throw
// llama3::Error(kInvalidArgument) for an empty phrase, which would match any text.
//
// Blocks a prompt whose text contains a phrase (reason: `blocked phrase: "xyz" in the prompt`).
InputFilter blocked_phrases_input_filter(const std::vector<std::string>& phrases);
// Stops generation at the piece that completes a phrase: that piece is withheld, as for any
// mid-stream stop, while the phrase's beginning may already have been handed out with earlier
// pieces. At the end the whole text is checked once more (an earlier filter's final redaction may
// have changed it). Reason: `blocked phrase: "xyz" in the answer`.
OutputFilter blocked_phrases_output_filter(const std::vector<std::string>& phrases);

}  // namespace llama3

#pragma GCC visibility pop
