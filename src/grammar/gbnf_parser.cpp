// GBNF reader: a recursive-descent parser over the text, building through GrammarBuilder.
#include "grammar/gbnf_parser.hpp"

#include <string>

#include "grammar/grammar_builder.hpp"
#include "grammar/utf8_decode.hpp"
#include "llama3/error.hpp"

namespace llama3::grammar {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

class GbnfParser {
 public:
  explicit GbnfParser(std::string_view text) : text_(text) {}

  GrammarIr parse(std::string_view root) {
    skip_space();
    if (at_end()) fail("the grammar is empty");
    while (!at_end()) {
      const std::string name = parse_name("a rule name");
      skip_space();
      if (!consume("::=")) fail("expected '::=' after rule name '" + name + "'");
      const std::uint32_t rule = builder_.rule_named(name);
      if (builder_.is_defined(rule)) fail("rule '" + name + "' is defined twice");
      builder_.define(rule, parse_alternatives(name, 0));
      if (!at_end()) {
        if (peek() == ')') fail("unmatched ')'");
        if (peek() == '|') fail("unexpected '|'");
      }
    }
    return builder_.build(root);
  }

 private:
  using Sequence = GrammarBuilder::Sequence;
  using Symbol = GrammarBuilder::Symbol;

  [[noreturn]] void fail(const std::string& message) const {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw Error(ErrorCode::kInvalidArgument, "GBNF line " + std::to_string(line) + ", column " +
                                                 std::to_string(column) + ": " + message);
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  bool consume(std::string_view token) {
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  void skip_space() {
    while (!at_end()) {
      const char c = peek();
      if (c == '#') {
        while (!at_end() && peek() != '\n') ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else {
        return;
      }
    }
  }

  std::string parse_name(const char* what) {
    const std::size_t start = pos_;
    while (!at_end() && is_name_char(peek())) ++pos_;
    if (pos_ == start) fail(std::string("expected ") + what);
    return std::string(text_.substr(start, pos_ - start));
  }

  // True when a "name ::=" starts here: the previous rule has ended.
  bool at_rule_start() const {
    std::size_t p = pos_;
    while (p < text_.size() && is_name_char(text_[p])) ++p;
    if (p == pos_) return false;
    while (p < text_.size() && (text_[p] == ' ' || text_[p] == '\t')) ++p;
    return text_.substr(p, 3) == "::=";
  }

  std::vector<Sequence> parse_alternatives(const std::string& rule_name, int depth) {
    if (depth > kMaxGbnfNesting) {
      fail("groups nested deeper than " + std::to_string(kMaxGbnfNesting) + " levels");
    }
    std::vector<Sequence> alternatives;
    alternatives.push_back(parse_sequence(rule_name, depth));
    while (!at_end() && peek() == '|') {
      ++pos_;
      alternatives.push_back(parse_sequence(rule_name, depth));
    }
    return alternatives;
  }

  Sequence parse_sequence(const std::string& rule_name, int depth) {
    Sequence sequence;
    for (;;) {
      skip_space();
      if (at_end() || peek() == '|' || peek() == ')' || at_rule_start()) return sequence;
      const std::size_t before = sequence.size();
      parse_primary(rule_name, depth, sequence);
      parse_postfix(rule_name, sequence, before);
    }
  }

  // Appends the symbols of one item (a literal is several) to `out`.
  void parse_primary(const std::string& rule_name, int depth, Sequence& out) {
    const char c = peek();
    if (c == '"') {
      ++pos_;
      std::string literal;
      while (!at_end() && peek() != '"') {
        if (peek() == '\n') fail("newline inside a string literal (write \\n)");
        read_char(literal);
      }
      if (at_end()) fail("unterminated string literal");
      ++pos_;
      builder_.append_literal(literal, out);
    } else if (c == '[') {
      ++pos_;
      out.push_back(parse_class());
    } else if (c == '.') {
      ++pos_;
      out.push_back(builder_.code_point_class(normalize_ranges({}, /*negate=*/true)));
    } else if (c == '(') {
      ++pos_;
      const std::uint32_t group = builder_.fresh_rule(rule_name);
      builder_.define(group, parse_alternatives(rule_name, depth + 1));
      if (at_end() || peek() != ')') fail("expected ')'");
      ++pos_;
      out.push_back(builder_.rule_symbol(group));
    } else if (is_name_char(c)) {
      out.push_back(builder_.rule_symbol(builder_.rule_named(parse_name("a rule name"))));
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
  }

  void parse_postfix(const std::string& rule_name, Sequence& sequence, std::size_t item_start) {
    if (at_end()) return;
    const char c = peek();
    if (c != '*' && c != '+' && c != '?' && c != '{') return;
    ++pos_;
    std::uint32_t min = 0;
    std::int64_t max = -1;
    if (c == '+') {
      min = 1;
    } else if (c == '?') {
      max = 1;
    } else if (c == '{') {
      skip_space();
      min = parse_count();
      skip_space();
      max = min;
      if (!at_end() && peek() == ',') {
        ++pos_;
        skip_space();
        max = (!at_end() && peek() == '}') ? -1 : static_cast<std::int64_t>(parse_count());
        skip_space();
      }
      if (at_end() || peek() != '}') fail("expected '}' to close a repetition count");
      ++pos_;
    }
    // The item is the last primary; a multi-byte literal becomes one rule first.
    Symbol item;
    if (sequence.size() - item_start == 1) {
      item = sequence.back();
    } else {
      const std::uint32_t literal = builder_.fresh_rule(rule_name);
      builder_.define(literal, {Sequence(sequence.begin() + static_cast<std::ptrdiff_t>(item_start),
                                         sequence.end())});
      item = builder_.rule_symbol(literal);
    }
    sequence.resize(item_start);
    builder_.append_repetition(item, min, max, rule_name, sequence);
    skip_space();
    if (!at_end() && (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{')) {
      fail("two repetition operators in a row; group the item first");
    }
  }

  std::uint32_t parse_count() {
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      value = value * 10 + static_cast<std::uint64_t>(peek() - '0');
      if (value > kMaxRepetition)
        fail("repetition count exceeds " + std::to_string(kMaxRepetition));
      ++pos_;
    }
    if (pos_ == start) fail("expected a repetition count");
    return static_cast<std::uint32_t>(value);
  }

  Symbol parse_class() {
    bool negate = false;
    if (!at_end() && peek() == '^') {
      negate = true;
      ++pos_;
    }
    std::vector<CodePointRange> ranges;
    while (!at_end() && peek() != ']') {
      const std::uint32_t first = read_code_point();
      std::uint32_t last = first;
      if (pos_ + 1 < text_.size() && peek() == '-' && text_[pos_ + 1] != ']') {
        ++pos_;
        last = read_code_point();
        if (last < first) fail("character range with its end before its start");
      }
      ranges.push_back({first, last});
    }
    if (at_end()) fail("unterminated character class (missing ']')");
    ++pos_;
    return builder_.code_point_class(normalize_ranges(std::move(ranges), negate));
  }

  // One character of a literal (escape or raw byte), appended as UTF-8 bytes.
  void read_char(std::string& out) {
    if (peek() == '\\') {
      append_utf8(read_escape(), out);
    } else {
      out += peek();
      ++pos_;
    }
  }

  // One code point of a class: an escape or a UTF-8 encoded character.
  std::uint32_t read_code_point() {
    if (peek() == '\\') return read_escape();
    const DecodedCharacter decoded = decode_utf8_at(text_, pos_);
    if (decoded.length == 0) fail("invalid UTF-8 in a character class");
    pos_ += decoded.length;
    return decoded.code_point;
  }

  std::uint32_t read_escape() {
    ++pos_;  // the backslash
    if (at_end()) fail("a backslash at the end of the grammar");
    const char c = peek();
    ++pos_;
    switch (c) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case '\\':
      case '"':
      case '\'':
      case '[':
      case ']':
      case '-':
      case '/':
      case '^':
        return static_cast<std::uint32_t>(c);
      case 'x':
        return read_hex(2);
      case 'u':
        return read_hex(4);
      case 'U':
        return read_hex(8);
      default:
        --pos_;
        fail(std::string("unknown escape '\\") + c + "'");
    }
  }

  std::uint32_t read_hex(int digits) {
    std::uint32_t value = 0;
    for (int i = 0; i < digits; ++i) {
      if (at_end()) fail("truncated hex escape");
      const char c = peek();
      int digit = -1;
      if (c >= '0' && c <= '9') digit = c - '0';
      if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      if (digit < 0) fail("expected " + std::to_string(digits) + " hex digits in an escape");
      value = value * 16 + static_cast<std::uint32_t>(digit);
      ++pos_;
    }
    if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
      fail("escape is not a Unicode scalar value");
    }
    return value;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  GrammarBuilder builder_;
};

}  // namespace

GrammarIr parse_gbnf(std::string_view text, std::string_view root) {
  return GbnfParser(text).parse(root);
}

}  // namespace llama3::grammar
