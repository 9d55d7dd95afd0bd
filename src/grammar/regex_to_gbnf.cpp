// Regular expressions to GBNF: a recursive-descent parser that writes GBNF as it goes.
#include "grammar/regex_to_gbnf.hpp"

#include <string>
#include <vector>

#include "grammar/gbnf_text.hpp"
#include "grammar/utf8_decode.hpp"
#include "llama3/error.hpp"

namespace llama3::grammar {
namespace {

constexpr int kMaxRegexNesting = 100;

class RegexParser {
 public:
  RegexParser(std::string_view pattern, RegexTarget target) : text_(pattern), target_(target) {}

  std::string parse() {
    if (!at_end() && peek() == '^') ++pos_;
    std::string expression = parse_alternation(0);
    if (!at_end()) fail(peek() == ')' ? "unmatched ')'" : "unexpected character");
    return expression.empty() ? "\"\"" : expression;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error(ErrorCode::kInvalidArgument, "regular expression at offset " +
                                                 std::to_string(pos_) + ": " + message +
                                                 " (pattern: " + std::string(text_) + ")");
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  std::string parse_alternation(int depth) {
    if (depth > kMaxRegexNesting) {
      fail("groups nested deeper than " + std::to_string(kMaxRegexNesting) + " levels");
    }
    std::vector<std::string> alternatives{parse_sequence(depth)};
    while (!at_end() && peek() == '|') {
      ++pos_;
      alternatives.push_back(parse_sequence(depth));
    }
    if (alternatives.size() == 1) return alternatives[0];
    std::string out = "(";
    for (std::size_t i = 0; i < alternatives.size(); ++i) {
      if (i) out += " | ";
      out += alternatives[i].empty() ? "\"\"" : alternatives[i];
    }
    return out + ")";
  }

  std::string parse_sequence(int depth) {
    std::string out;
    while (!at_end() && peek() != '|' && peek() != ')') {
      if (peek() == '$') {
        ++pos_;
        if (!at_end() && peek() != ')' && peek() != '|') fail("'$' is supported only at the end");
        continue;
      }
      std::string atom = parse_atom(depth);
      atom = parse_quantifier(std::move(atom));
      if (!out.empty()) out += ' ';
      out += atom;
    }
    return out;
  }

  std::string parse_quantifier(std::string atom) {
    if (at_end()) return atom;
    const char c = peek();
    std::string suffix;
    if (c == '*' || c == '+' || c == '?') {
      ++pos_;
      suffix = c;
    } else if (c == '{') {
      const std::size_t close = text_.find('}', pos_);
      if (close == std::string_view::npos) fail("unterminated '{'");
      const std::string_view body = text_.substr(pos_ + 1, close - pos_ - 1);
      for (char d : body) {
        if ((d < '0' || d > '9') && d != ',') fail("malformed repetition count");
      }
      if (body.empty() || body[0] == ',') fail("a repetition count needs a minimum");
      suffix = concat({"{", body, "}"});
      pos_ = close + 1;
    } else {
      return atom;
    }
    if (!at_end() && (peek() == '?' || peek() == '+')) {
      fail("lazy and possessive quantifiers are not supported");
    }
    if (!at_end() && (peek() == '*' || peek() == '{')) fail("two quantifiers in a row");
    return "(" + atom + ")" + suffix;
  }

  std::string parse_atom(int depth) {
    const char c = peek();
    switch (c) {
      case '(': {
        ++pos_;
        if (!at_end() && peek() == '?') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == ':') {
            pos_ += 2;
          } else {
            fail("lookaround, named groups and inline flags are not supported");
          }
        }
        std::string inner = parse_alternation(depth + 1);
        if (at_end() || peek() != ')') fail("missing ')'");
        ++pos_;
        return concat({"(", inner.empty() ? std::string_view("\"\"") : inner, ")"});
      }
      case '[':
        ++pos_;
        return parse_class();
      case '.':
        ++pos_;
        return class_text({{'\n', '\n'}}, /*negate=*/true);
      case '*':
      case '+':
      case '?':
      case '{':
        fail("a quantifier with nothing to repeat");
      case '^':
        fail("'^' is supported only at the start");
      case '\\': {
        std::vector<CodePointRange> ranges;
        bool negate = false;
        if (read_class_escape(ranges, negate)) return class_text(ranges, negate);
        return literal(ranges[0].first);
      }
      default:
        return literal(read_utf8());
    }
  }

  // One escape after '\'. Returns true for a class escape (\d \w \s and negations), false for a
  // single character (in ranges[0]).
  bool read_class_escape(std::vector<CodePointRange>& ranges, bool& negate) {
    ++pos_;
    if (at_end()) fail("a backslash at the end");
    const char c = peek();
    ++pos_;
    const std::vector<CodePointRange> digit{{'0', '9'}};
    const std::vector<CodePointRange> word{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    const std::vector<CodePointRange> space{{'\t', '\r'}, {' ', ' '}};
    switch (c) {
      case 'd':
        ranges = digit;
        return true;
      case 'w':
        ranges = word;
        return true;
      case 's':
        ranges = space;
        return true;
      case 'D':
        ranges = digit;
        negate = true;
        return true;
      case 'W':
        ranges = word;
        negate = true;
        return true;
      case 'S':
        ranges = space;
        negate = true;
        return true;
      case 'n':
        ranges = {{'\n', '\n'}};
        return false;
      case 'r':
        ranges = {{'\r', '\r'}};
        return false;
      case 't':
        ranges = {{'\t', '\t'}};
        return false;
      case 'f':
        ranges = {{'\f', '\f'}};
        return false;
      case 'v':
        ranges = {{'\v', '\v'}};
        return false;
      case 'x': {
        const auto v = read_hex(2);
        ranges = {{v, v}};
        return false;
      }
      case 'u': {
        const auto v = read_hex(4);
        ranges = {{v, v}};
        return false;
      }
      default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
          --pos_;
          fail(std::string("the escape '\\") + c + "' is not supported");
        }
        ranges = {{static_cast<std::uint32_t>(static_cast<unsigned char>(c)),
                   static_cast<std::uint32_t>(static_cast<unsigned char>(c))}};
        return false;
    }
  }

  std::uint32_t read_hex(int digits) {
    std::uint32_t value = 0;
    for (int i = 0; i < digits; ++i, ++pos_) {
      if (at_end()) fail("truncated hex escape");
      const char c = peek();
      const int d = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
      if (d < 0) fail("expected hex digits");
      value = value * 16 + static_cast<std::uint32_t>(d);
    }
    if (value >= 0xD800 && value <= 0xDFFF) fail("a surrogate code point");
    return value;
  }

  std::uint32_t read_utf8() {
    const DecodedCharacter decoded = decode_utf8_at(text_, pos_);
    if (decoded.length == 0) fail("invalid UTF-8");
    pos_ += decoded.length;
    return decoded.code_point;
  }

  std::string parse_class() {
    bool negate = false;
    if (!at_end() && peek() == '^') {
      negate = true;
      ++pos_;
    }
    std::vector<CodePointRange> ranges;
    bool first = true;
    while (!at_end() && (peek() != ']' || first)) {
      first = false;
      std::uint32_t lo = 0;
      if (peek() == '\\') {
        std::vector<CodePointRange> escaped;
        bool escaped_negate = false;
        if (read_class_escape(escaped, escaped_negate)) {
          if (escaped_negate) escaped = normalize_ranges(escaped, true);
          ranges.insert(ranges.end(), escaped.begin(), escaped.end());
          continue;
        }
        lo = escaped[0].first;
      } else {
        lo = read_utf8();
      }
      std::uint32_t hi = lo;
      if (pos_ + 1 < text_.size() && peek() == '-' && text_[pos_ + 1] != ']') {
        ++pos_;
        if (peek() == '\\') {
          std::vector<CodePointRange> escaped;
          bool escaped_negate = false;
          if (read_class_escape(escaped, escaped_negate)) fail("a class escape as a range end");
          hi = escaped[0].first;
        } else {
          hi = read_utf8();
        }
        if (hi < lo) fail("a range with its end before its start");
      }
      ranges.push_back({lo, hi});
    }
    if (at_end()) fail("missing ']'");
    ++pos_;
    return class_text(ranges, negate);
  }

  // A class; inside a JSON string, characters JSON must escape are left out (a subset of the
  // pattern's strings, all of them valid JSON).
  std::string class_text(std::vector<CodePointRange> ranges, bool negate) {
    auto normalized = normalize_ranges(std::move(ranges), negate);
    if (target_ == RegexTarget::kJsonString) {
      std::vector<CodePointRange> allowed;
      for (const auto& r : normalized) {
        // Remove 0x00-0x1F, '"' (0x22) and '\' (0x5C).
        std::uint32_t lo = r.first;
        const std::uint32_t hi = r.last;
        for (auto [a, b] :
             {std::pair<std::uint32_t, std::uint32_t>{0, 0x1F}, {0x22, 0x22}, {0x5C, 0x5C}}) {
          if (lo > hi) break;
          if (b < lo || a > hi) continue;
          if (a > lo) allowed.push_back({lo, a - 1});
          lo = b + 1;
        }
        if (lo <= hi) allowed.push_back({lo, hi});
      }
      normalized = normalize_ranges(std::move(allowed), false);
    }
    if (normalized.empty()) fail("a character class that matches nothing");
    return gbnf_class(normalized);
  }

  std::string literal(std::uint32_t cp) {
    std::string bytes;
    if (target_ == RegexTarget::kJsonString && (cp < 0x20 || cp == '"' || cp == '\\')) {
      // The JSON spelling of the character.
      switch (cp) {
        case '"':
          bytes = "\\\"";
          break;
        case '\\':
          bytes = "\\\\";
          break;
        case '\n':
          bytes = "\\n";
          break;
        case '\r':
          bytes = "\\r";
          break;
        case '\t':
          bytes = "\\t";
          break;
        default: {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04X", cp);
          bytes = buffer;
        }
      }
    } else {
      append_utf8(cp, bytes);
    }
    return gbnf_literal(bytes);
  }

  std::string_view text_;
  RegexTarget target_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string regex_to_gbnf_expression(std::string_view pattern, RegexTarget target) {
  return RegexParser(pattern, target).parse();
}

std::string regex_to_gbnf(std::string_view pattern) {
  return "root ::= " + regex_to_gbnf_expression(pattern, RegexTarget::kText) + "\n";
}

}  // namespace llama3::grammar
