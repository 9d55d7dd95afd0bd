// The languages the code scanner knows: canonical names, the aliases models and Markdown fences
// use, and the comment/string syntax the source lexer needs for each.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace llama3::safety {

enum class Language { kC, kCpp, kCSharp, kJava, kJavaScript, kPhp, kPython, kRust, kShell };

// Every language, in the order scans of unspecified language run them.
std::span<const Language> all_languages();

// "c", "cpp", "csharp", "java", "javascript", "php", "python", "rust", "shell".
std::string_view language_name(Language language);

// A canonical name or alias ("c++", "py", "ts", "c#", "sh", ...), case-insensitive; nullopt
// otherwise.
std::optional<Language> parse_language(std::string_view name);

// How comments and string literals are written. One lexer serves every language; these switches
// pick the constructs it recognises.
struct LexSyntax {
  bool slash_comments = false;         // `// ...` and `/* ... */`
  bool hash_comments = false;          // `# ...` (not `#[` attributes)
  bool hash_needs_word_start = false;  // `#` starts a comment only after a blank or `;|&(` (shell)
  bool backtick_templates = false;     // JavaScript `...${expr}...`
  bool triple_quotes = false;          // Python '''...''' and """..."""
  bool cpp_raw_strings = false;        // R"delim(...)delim"
  bool rust_raw_strings = false;       // r"..." / r#"..."# and 'a lifetimes
  bool csharp_verbatim = false;        // @"..." with "" as the quote
  bool multiline_strings = false;      // plain quotes may span lines (shell, PHP)
};

LexSyntax lex_syntax(Language language);

// For language-agnostic rules when no language is known: `//`, `/* */` and `#` comments.
LexSyntax generic_lex_syntax();

}  // namespace llama3::safety
