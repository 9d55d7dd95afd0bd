// GBNF reading and byte-level matching: every construct of the notation, UTF-8 inside classes, and
// the error for each kind of malformed grammar.
#include <catch2/catch.hpp>

#include "grammar/grammar_test_support.hpp"
#include "llama3/error.hpp"
#include "support/error_code.hpp"
#include "support/hostile_input.hpp"

using namespace llama3;
using testing::gbnf;
using testing::is_prefix;
using testing::matches;

TEST_CASE("GBNF literals, alternatives, groups and rule references match exactly", "[grammar]") {
  const auto g = gbnf(R"(
    root ::= greeting " " name   # a comment
    greeting ::= "hello" | "hi"
    name ::= ("world" | "there")
  )");
  CHECK(matches(g, "hello world"));
  CHECK(matches(g, "hi there"));
  CHECK_FALSE(matches(g, "hello"));
  CHECK(is_prefix(g, "hel"));
  CHECK_FALSE(is_prefix(g, "hex"));
  CHECK_FALSE(matches(g, "hello world!"));
}

TEST_CASE("GBNF repetition operators bound the count", "[grammar]") {
  const auto star = gbnf(R"(root ::= "a"* "b")");
  CHECK(matches(star, "b"));
  CHECK(matches(star, "aaaab"));
  const auto plus = gbnf(R"(root ::= "ab"+)");
  CHECK_FALSE(matches(plus, ""));
  CHECK(matches(plus, "ababab"));
  CHECK_FALSE(matches(plus, "aba"));
  const auto optional = gbnf(R"(root ::= "x"? "y")");
  CHECK(matches(optional, "y"));
  CHECK(matches(optional, "xy"));
  CHECK_FALSE(matches(optional, "xxy"));
  const auto counted = gbnf(R"(root ::= [0-9]{2,4})");
  CHECK_FALSE(matches(counted, "1"));
  CHECK(matches(counted, "12"));
  CHECK(matches(counted, "1234"));
  CHECK_FALSE(matches(counted, "12345"));
  const auto exact = gbnf(R"(root ::= "ab"{3})");
  CHECK(matches(exact, "ababab"));
  CHECK_FALSE(matches(exact, "abab"));
  const auto at_least = gbnf(R"(root ::= "z"{2,})");
  CHECK_FALSE(matches(at_least, "z"));
  CHECK(matches(at_least, "zzzzzz"));
}

TEST_CASE("GBNF character classes: ranges, negation, escapes", "[grammar]") {
  const auto g = gbnf(R"(root ::= [a-cX\-\]]+)");
  CHECK(matches(g, "abcX-]"));
  CHECK_FALSE(matches(g, "d"));
  const auto negated = gbnf(R"(root ::= [^"\\\n]*)");
  CHECK(matches(negated, "plain text, with punctuation!"));
  CHECK_FALSE(matches(negated, "a\"b"));
  CHECK_FALSE(matches(negated, "a\\b"));
  CHECK_FALSE(matches(negated, "a\nb"));
  const auto hex = gbnf(R"(root ::= "\x41\u00e9\t" [\x30-\x39])");
  CHECK(matches(hex, "A\xC3\xA9\t7"));
}

TEST_CASE("GBNF classes match whole UTF-8 characters, never a stray byte", "[grammar]") {
  const auto g = gbnf(R"(root ::= [à-ÿ€😀-😂]+)");
  CHECK(matches(g, "àÿ€😁"));
  CHECK_FALSE(matches(g, "a"));
  // A token may end inside a character: the first byte of "é" is a valid prefix, a lone
  // continuation byte is not.
  CHECK(is_prefix(g, "\xC3"));
  CHECK_FALSE(matches(g, "\xC3"));
  CHECK_FALSE(is_prefix(g, "\xA9"));
  const auto negated = gbnf(R"(root ::= [^a]+)");
  CHECK(matches(negated, "日本語"));
  CHECK(matches(negated, "\xF4\x8F\xBF\xBF"));        // U+10FFFF
  CHECK_FALSE(matches(negated, "\xED\xA0\x80"));      // a UTF-16 surrogate is not UTF-8
  CHECK_FALSE(matches(negated, "\xC0\x80"));          // overlong encoding
  CHECK_FALSE(matches(negated, "\xF4\x90\x80\x80"));  // beyond U+10FFFF
  const auto any = gbnf(R"(root ::= .{3})");
  CHECK(matches(any, "a日\n"));
  CHECK_FALSE(matches(any, "ab"));
}

TEST_CASE("GBNF rules may span lines and be used before they are defined", "[grammar]") {
  const auto g = gbnf(R"(
root ::= "[" ws
  (item ("," ws item)*)?
  "]"
item ::= [0-9]+
ws ::= [ ]*
)");
  CHECK(matches(g, "[]"));
  CHECK(matches(g, "[ 1, 22,333]"));
  CHECK_FALSE(matches(g, "[1,]"));
}

TEST_CASE("GBNF recursion through a consumed byte is fine", "[grammar]") {
  const auto g = gbnf(R"g(root ::= "(" root ")" | "")g");
  CHECK(matches(g, ""));
  CHECK(matches(g, "((()))"));
  CHECK_FALSE(matches(g, "(()"));
}

TEST_CASE("GBNF hostile and malformed grammars are clear errors", "[grammar][hostile]") {
  const auto error_of = [](const std::string& text) -> std::string {
    try {
      testing::hostile_input("grammar", [&] { return grammar::parse_gbnf(text); });
    } catch (const Error& error) {
      CHECK(error.code() == ErrorCode::kInvalidArgument);
      return error.what();
    }
    return "no error";
  };
  CHECK_THAT(error_of(""), Catch::Contains("empty"));
  CHECK_THAT(error_of("rooot ::= \"a\""), Catch::Contains("no rule named 'root'"));
  CHECK_THAT(error_of("root ::= missing"), Catch::Contains("'missing' is used but never defined"));
  CHECK_THAT(error_of("root ::= \"a\"\nroot ::= \"b\""), Catch::Contains("defined twice"));
  CHECK_THAT(error_of("root ::= root \"a\" | \"b\""), Catch::Contains("left recursion"));
  CHECK_THAT(error_of("root ::= a\na ::= b? a \"x\" | \"y\"\nb ::= \"z\""),
             Catch::Contains("left recursion"));
  CHECK_THAT(error_of("root ::= (\"a\"?)*"), Catch::Contains("left recursion"));
  CHECK_THAT(error_of("root ::= \"a\" root"), Catch::Contains("can never finish"));
  CHECK_THAT(error_of("root ::= \"\\q\""), Catch::Contains("unknown escape '\\q'"));
  CHECK_THAT(error_of("root ::= \"\\x4\""), Catch::Contains("hex digits"));
  CHECK_THAT(error_of("root ::= \"\\uD800\""), Catch::Contains("not a Unicode scalar value"));
  CHECK_THAT(error_of("root ::= \"abc"), Catch::Contains("unterminated string"));
  CHECK_THAT(error_of("root ::= [abc"), Catch::Contains("unterminated character class"));
  CHECK_THAT(error_of("root ::= [z-a]"), Catch::Contains("end before its start"));
  CHECK_THAT(error_of("root ::= (\"a\""), Catch::Contains("expected ')'"));
  CHECK_THAT(error_of("root ::= \"a\")"), Catch::Contains("unmatched ')'"));
  CHECK_THAT(error_of("root ::= \"a\"{99999999999}"), Catch::Contains("exceeds"));
  CHECK_THAT(error_of("root ::= \"a\"{5,2}"), Catch::Contains("max < min"));
  CHECK_THAT(error_of("root ::= \"a\"**"), Catch::Contains("two repetition operators"));
  CHECK_THAT(error_of("root = \"a\""), Catch::Contains("expected '::='"));
  CHECK_THAT(error_of("root ::= [\xFF]"), Catch::Contains("invalid UTF-8"));
  CHECK_THAT(error_of("root ::= " + std::string(500, '(') + "\"a\"" + std::string(500, ')')),
             Catch::Contains("nested deeper"));
  // Counted repetitions are expanded, so their total is budgeted rather than left to exhaust
  // memory.
  std::string many = "root ::=";
  for (int i = 0; i < 500; ++i) many += " \"a\"{10000}";
  CHECK_THAT(error_of(many), Catch::Contains("more than"));
  // Nested counts repeat a reference to the inner rule, so they stay small.
  CHECK_NOTHROW(grammar::parse_gbnf("root ::= (((\"a\"{10000}){10000}){10000})"));
  // A rule name alone.
  CHECK_THAT(error_of("root"), Catch::Contains("expected '::='"));
}

TEST_CASE("GBNF deep input nesting is a clear error, not a crash", "[grammar][hostile]") {
  const auto g = gbnf(R"g(root ::= "(" root ")" | "")g");
  grammar::ByteMatcher matcher(g);
  CHECK(testing::code_of([&] {
          testing::hostile_input("grammar", [&] { matcher.feed(std::string(100000, '(')); });
        }) == ErrorCode::kInvalidArgument);
}
