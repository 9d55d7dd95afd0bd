#include "safety/languages.hpp"

#include <array>
#include <utility>

namespace llama3::safety {

namespace {

constexpr std::array kAllLanguages = {Language::kC,      Language::kCpp,        Language::kCSharp,
                                      Language::kJava,   Language::kJavaScript, Language::kPhp,
                                      Language::kPython, Language::kRust,       Language::kShell};

constexpr std::array<std::pair<std::string_view, Language>, 33> kAliases = {{
    {"c", Language::kC},
    {"h", Language::kC},
    {"cpp", Language::kCpp},
    {"c++", Language::kCpp},
    {"cc", Language::kCpp},
    {"cxx", Language::kCpp},
    {"hpp", Language::kCpp},
    {"csharp", Language::kCSharp},
    {"c#", Language::kCSharp},
    {"cs", Language::kCSharp},
    {"java", Language::kJava},
    {"javascript", Language::kJavaScript},
    {"js", Language::kJavaScript},
    {"jsx", Language::kJavaScript},
    {"mjs", Language::kJavaScript},
    {"node", Language::kJavaScript},
    {"typescript", Language::kJavaScript},
    {"ts", Language::kJavaScript},
    {"tsx", Language::kJavaScript},
    {"php", Language::kPhp},
    {"python", Language::kPython},
    {"python3", Language::kPython},
    {"py", Language::kPython},
    {"py3", Language::kPython},
    {"rust", Language::kRust},
    {"rs", Language::kRust},
    {"shell", Language::kShell},
    {"sh", Language::kShell},
    {"bash", Language::kShell},
    {"zsh", Language::kShell},
    {"console", Language::kShell},
    {"shell-session", Language::kShell},
    {"ksh", Language::kShell},
}};

char to_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::span<const Language> all_languages() {
  return kAllLanguages;
}

std::string_view language_name(Language language) {
  switch (language) {
    case Language::kC:
      return "c";
    case Language::kCpp:
      return "cpp";
    case Language::kCSharp:
      return "csharp";
    case Language::kJava:
      return "java";
    case Language::kJavaScript:
      return "javascript";
    case Language::kPhp:
      return "php";
    case Language::kPython:
      return "python";
    case Language::kRust:
      return "rust";
    case Language::kShell:
      return "shell";
  }
  return "unknown";
}

std::optional<Language> parse_language(std::string_view name) {
  std::string lowered(name);
  for (char& c : lowered) c = to_lower(c);
  for (const auto& [alias, language] : kAliases) {
    if (alias == lowered) return language;
  }
  return std::nullopt;
}

LexSyntax lex_syntax(Language language) {
  LexSyntax syntax;
  switch (language) {
    case Language::kC:
      syntax.slash_comments = true;
      break;
    case Language::kJava:
      syntax.slash_comments = true;
      syntax.triple_quotes = true;  // text blocks
      break;
    case Language::kCpp:
      syntax.slash_comments = true;
      syntax.cpp_raw_strings = true;
      break;
    case Language::kCSharp:
      syntax.slash_comments = true;
      syntax.csharp_verbatim = true;
      syntax.triple_quotes = true;  // C# 11 raw string literals
      break;
    case Language::kJavaScript:
      syntax.slash_comments = true;
      syntax.backtick_templates = true;
      break;
    case Language::kPhp:
      syntax.slash_comments = true;
      syntax.hash_comments = true;
      syntax.multiline_strings = true;
      break;
    case Language::kPython:
      syntax.hash_comments = true;
      syntax.triple_quotes = true;
      break;
    case Language::kRust:
      syntax.slash_comments = true;
      syntax.rust_raw_strings = true;
      syntax.multiline_strings = true;
      break;
    case Language::kShell:
      syntax.hash_comments = true;
      syntax.hash_needs_word_start = true;
      syntax.multiline_strings = true;
      break;
  }
  return syntax;
}

LexSyntax generic_lex_syntax() {
  LexSyntax syntax;
  syntax.slash_comments = true;
  syntax.hash_comments = true;
  syntax.hash_needs_word_start = true;
  return syntax;
}

}  // namespace llama3::safety
