// Regular expressions to GBNF: the subset's constructs match what they should, JSON-string
// spelling, and unsupported syntax is a clear error.
#include <catch2/catch.hpp>

#include "grammar/grammar_test_support.hpp"
#include "grammar/regex_to_gbnf.hpp"
#include "llama3/error.hpp"
#include "support/hostile_input.hpp"

using namespace llama3;
using testing::matches;

namespace {
std::shared_ptr<const grammar::GrammarIr> regex(std::string_view pattern) {
  return testing::gbnf(grammar::regex_to_gbnf(pattern));
}
}  // namespace

TEST_CASE("regex subset: literals, classes, groups, alternation, quantifiers", "[grammar]") {
  const auto phone = regex(R"(^\(\d{3}\) \d{3}-\d{4}$)");
  CHECK(matches(phone, "(555) 123-4567"));
  CHECK_FALSE(matches(phone, "555-123-4567"));
  const auto word = regex(R"((?:cat|dog)s?\.)");
  CHECK(matches(word, "cats."));
  CHECK(matches(word, "dog."));
  CHECK_FALSE(matches(word, "cow."));
  const auto classes = regex(R"([^\d\s]+\w*)");
  CHECK(matches(classes, "ab12"));
  CHECK_FALSE(matches(classes, "1ab"));
  const auto dot = regex("a.c");
  CHECK(matches(dot, "abc"));
  CHECK(matches(dot,
                "a\xE2\x82\xAC"
                "c"));  // '.' is one character, here three bytes
  CHECK_FALSE(matches(dot, "a\nc"));
  const auto counted = regex("x{2,3}y+z*");
  CHECK(matches(counted, "xxy"));
  CHECK(matches(counted, "xxxyyzz"));
  CHECK_FALSE(matches(counted, "xy"));
}

TEST_CASE("regex inside a JSON string spells quotes and backslashes escaped", "[grammar]") {
  const std::string expression =
      grammar::regex_to_gbnf_expression(R"(a"b\\[^x]\n)", grammar::RegexTarget::kJsonString);
  const auto g = testing::gbnf("root ::= " + expression);
  CHECK(matches(g, R"(a\"b\\y\n)"));
  CHECK_FALSE(matches(g, "a\"b\\y\n"));
  CHECK_FALSE(matches(g, R"(a\"b\\"\n)"));  // the class never yields a raw quote
}

TEST_CASE("regex: unsupported or malformed syntax is a clear error", "[grammar][hostile]") {
  const auto error_of = [](std::string_view pattern) -> std::string {
    try {
      testing::hostile_input("grammar", [&] { return grammar::regex_to_gbnf(pattern); });
    } catch (const Error& error) {
      return error.what();
    }
    return "no error";
  };
  CHECK_THAT(error_of(R"((a)\1)"), Catch::Contains("'\\1' is not supported"));
  CHECK_THAT(error_of("(?=a)"), Catch::Contains("lookaround"));
  CHECK_THAT(error_of("a*?"), Catch::Contains("lazy"));
  CHECK_THAT(error_of(R"(\bword)"), Catch::Contains("'\\b' is not supported"));
  CHECK_THAT(error_of("(ab"), Catch::Contains("missing ')'"));
  CHECK_THAT(error_of("ab)"), Catch::Contains("unmatched ')'"));
  CHECK_THAT(error_of("[ab"), Catch::Contains("missing ']'"));
  CHECK_THAT(error_of("*a"), Catch::Contains("nothing to repeat"));
  CHECK_THAT(error_of("a{,3}"), Catch::Contains("minimum"));
  CHECK_THAT(error_of("a$b"), Catch::Contains("only at the end"));
  CHECK_THAT(error_of(std::string(300, '(')),
             Catch::Contains("groups nested deeper than 100 levels"));
}
