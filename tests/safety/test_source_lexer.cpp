#include <catch2/catch.hpp>

#include "safety/languages.hpp"
#include "safety/source_lexer.hpp"

using llama3::safety::Language;
using llama3::safety::lex_source;
using llama3::safety::lex_syntax;

TEST_CASE("Lexer blanks comments and string contents but keeps offsets and newlines", "[safety]") {
  const std::string code = "a = \"x#y\"  # note\nb = '''q\nr''' + c\n";
  const auto views = lex_source(code, lex_syntax(Language::kPython));
  REQUIRE(views.code.size() == code.size());
  REQUIRE(views.code_and_strings.size() == code.size());
  CHECK(views.code == "a = \"   \"        \nb = ''' \n ''' + c\n");
  CHECK(views.code_and_strings == "a = \"x#y\"        \nb = '''q\nr''' + c\n");
}

TEST_CASE("Lexer handles C-family comments, escapes and unterminated input", "[safety]") {
  const std::string code = "s = \"a\\\"b\"; /* c\nd */ t; // e\n\"open";
  const auto views = lex_source(code, lex_syntax(Language::kC));
  CHECK(views.code == "s = \"    \";     \n     t;     \n\"    ");
  CHECK(views.code_and_strings == "s = \"a\\\"b\";     \n     t;     \n\"open");
}
