#include "safety/source_lexer.hpp"

namespace llama3::safety {

namespace {

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Length in bytes of the UTF-8 sequence starting with `lead` (1 for stray or ASCII bytes).
std::size_t utf8_length(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

class Lexer {
 public:
  Lexer(std::string_view text, const LexSyntax& syntax)
      : text_(text), syntax_(syntax), out_{std::string(text), std::string(text)} {}

  LexedSource run() {
    while (pos_ < text_.size()) step();
    return std::move(out_);
  }

 private:
  char at(std::size_t i) const { return i < text_.size() ? text_[i] : '\0'; }
  bool starts_with(std::size_t i, std::string_view s) const {
    return text_.substr(i).starts_with(s);
  }

  void blank(std::string& view, std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to && i < view.size(); ++i) {
      if (view[i] != '\n') view[i] = ' ';
    }
  }
  void blank_comment(std::size_t from, std::size_t to) {
    blank(out_.code, from, to);
    blank(out_.code_and_strings, from, to);
  }
  // String contents are hidden from code rules only; rules about SQL text or secrets still see
  // them.
  void blank_string(std::size_t from, std::size_t to) { blank(out_.code, from, to); }

  std::size_t end_of_line(std::size_t from) const {
    const auto end = text_.find('\n', from);
    return end == std::string_view::npos ? text_.size() : end;
  }

  bool hash_starts_comment(std::size_t i) const {
    if (!syntax_.hash_comments || text_[i] != '#') return false;
    if (at(i + 1) == '[' && !syntax_.hash_needs_word_start) return false;  // PHP 8 attribute
    if (!syntax_.hash_needs_word_start || i == 0) return true;
    const char before = text_[i - 1];
    return before == ' ' || before == '\t' || before == '\n' || before == ';' || before == '|' ||
           before == '&' || before == '(';
  }

  void step() {
    const std::size_t i = pos_;
    const char c = text_[i];
    const char next = at(i + 1);
    if (syntax_.slash_comments && c == '/' && next == '/') {
      pos_ = end_of_line(i);
      blank_comment(i, pos_);
    } else if (syntax_.slash_comments && c == '/' && next == '*') {
      const auto close = text_.find("*/", i + 2);
      pos_ = close == std::string_view::npos ? text_.size() : close + 2;
      blank_comment(i, pos_);
    } else if (hash_starts_comment(i)) {
      pos_ = end_of_line(i);
      blank_comment(i, pos_);
    } else if (syntax_.triple_quotes && (c == '"' || c == '\'') && next == c && at(i + 2) == c) {
      quoted(i + 3, std::string_view(text_.data() + i, 3), /*escapes=*/true, /*multiline=*/true);
    } else if (syntax_.cpp_raw_strings && c == 'R' && next == '"' && raw_prefix_ok(i)) {
      cpp_raw_string(i);
    } else if (syntax_.rust_raw_strings && c == 'r' && (next == '"' || next == '#') &&
               raw_prefix_ok(i)) {
      rust_raw_string(i);
    } else if (syntax_.csharp_verbatim &&
               ((c == '@' && next == '"') || (c == '@' && next == '$' && at(i + 2) == '"') ||
                (c == '$' && next == '@' && at(i + 2) == '"'))) {
      csharp_verbatim(i + (next == '"' ? 2 : 3));
    } else if (c == '\'' && syntax_.cpp_raw_strings && i > 0 && is_identifier_char(text_[i - 1]) &&
               is_identifier_char(next)) {
      pos_ = i + 1;  // C++14 digit separator: 1'000'000
    } else if (c == '\'' && syntax_.rust_raw_strings && !rust_char_literal(i)) {
      pos_ = i + 1;  // a lifetime or loop label: 'a
    } else if (c == '"' || c == '\'' || (c == '`' && syntax_.backtick_templates)) {
      quoted(i + 1, std::string_view(text_.data() + i, 1), /*escapes=*/true,
             syntax_.multiline_strings || c == '`');
    } else {
      pos_ = i + 1;
    }
  }

  // Raw-string prefixes are only prefixes when they start a token (R"( but not FOOR"(), or follow
  // an encoding prefix (u8R, LR, br).
  bool raw_prefix_ok(std::size_t i) const {
    if (i == 0 || !is_identifier_char(text_[i - 1])) return true;
    const char before = text_[i - 1];
    return before == '8' || before == 'u' || before == 'U' || before == 'L' || before == 'b';
  }

  // Scans string contents from `from` to the closing `quote`, blanking them. JavaScript template
  // substitutions ${...} stay visible as code.
  void quoted(std::size_t from, std::string_view quote, bool escapes, bool multiline) {
    const bool template_literal = quote == "`";
    std::size_t segment = from;
    std::size_t j = from;
    while (j < text_.size()) {
      const char c = text_[j];
      if (escapes && c == '\\') {
        j += 2;
      } else if (starts_with(j, quote)) {
        blank_string(segment, j);
        pos_ = j + quote.size();
        return;
      } else if (c == '\n' && !multiline) {
        break;  // unterminated one-line string: stop at the line's end
      } else if (template_literal && c == '$' && at(j + 1) == '{') {
        blank_string(segment, j);
        j = skip_substitution(j + 2);
        segment = j;
      } else {
        ++j;
      }
    }
    j = j > text_.size() ? text_.size() : j;
    blank_string(segment, j);
    pos_ = j;
  }

  // Returns the offset just past the `}` that closes a ${ opened before `from` (brace depth only).
  std::size_t skip_substitution(std::size_t from) const {
    int depth = 1;
    for (std::size_t j = from; j < text_.size(); ++j) {
      if (text_[j] == '{') ++depth;
      if (text_[j] == '}' && --depth == 0) return j + 1;
    }
    return text_.size();
  }

  void cpp_raw_string(std::size_t i) {
    // R"delim( ... )delim" — the delimiter is at most 16 characters and has no parentheses or
    // blanks.
    const auto open = text_.find('(', i + 2);
    if (open == std::string_view::npos || open - (i + 2) > 16) {
      pos_ = i + 1;
      return;
    }
    // Built by append: g++ 12 warns falsely (-Wrestrict) on "literal" + std::string here.
    std::string closing(1, ')');
    closing.append(text_.substr(i + 2, open - (i + 2)));
    closing.push_back('"');
    const auto close = text_.find(closing, open + 1);
    const std::size_t end = close == std::string_view::npos ? text_.size() : close;
    blank_string(open + 1, end);
    pos_ = close == std::string_view::npos ? text_.size() : close + closing.size();
  }

  void rust_raw_string(std::size_t i) {
    std::size_t j = i + 1;
    while (at(j) == '#') ++j;
    if (at(j) != '"') {
      pos_ = i + 1;  // r#ident (a raw identifier), not a string
      return;
    }
    std::string closing(1, '"');
    closing.append(j - (i + 1), '#');
    const auto close = text_.find(closing, j + 1);
    const std::size_t end = close == std::string_view::npos ? text_.size() : close;
    blank_string(j + 1, end);
    pos_ = close == std::string_view::npos ? text_.size() : close + closing.size();
  }

  void csharp_verbatim(std::size_t from) {
    std::size_t j = from;
    while (j < text_.size()) {
      if (text_[j] == '"' && at(j + 1) == '"') {
        j += 2;  // "" is a quote inside a verbatim string
      } else if (text_[j] == '"') {
        blank_string(from, j);
        pos_ = j + 1;
        return;
      } else {
        ++j;
      }
    }
    blank_string(from, text_.size());
    pos_ = text_.size();
  }

  // Rust uses ' both for char literals ('x', '\n', '\u{1F600}') and lifetimes ('a, 'static).
  bool rust_char_literal(std::size_t i) const {
    const char first = at(i + 1);
    if (first == '\\') {
      for (std::size_t j = i + 2; j < text_.size() && j < i + 14; ++j) {
        if (text_[j] == '\'') return true;
        if (text_[j] == '\n') return false;
      }
      return false;
    }
    if (first == '\0' || first == '\n') return false;
    return at(i + 1 + utf8_length(static_cast<unsigned char>(first))) == '\'';
  }

  std::string_view text_;
  LexSyntax syntax_;
  LexedSource out_;
  std::size_t pos_ = 0;
};

}  // namespace

LexedSource lex_source(std::string_view text, const LexSyntax& syntax) {
  return Lexer(text, syntax).run();
}

}  // namespace llama3::safety
