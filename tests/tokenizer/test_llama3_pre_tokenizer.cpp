// The hand-written matcher for Llama 3's split pattern. Expected splits were checked against
// Python's `regex` module (Debian python3-regex 2022.10, Unicode 15.0) running the same pattern.
#include <catch2/catch.hpp>

#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/unicode_tables.hpp"

using llama3::detail::split_pieces;
using Pieces = std::vector<std::string>;

namespace {
Pieces split(std::string_view text) {
  Pieces pieces;
  split_pieces(text, [&](std::string_view piece) { pieces.emplace_back(piece); });
  return pieces;
}
}  // namespace

TEST_CASE("pre-tokenizer: words, numbers, punctuation", "[tokenizer]") {
  CHECK(split("Hello world") == Pieces{"Hello", " world"});
  CHECK(split("Hello, world!") == Pieces{"Hello", ",", " world", "!"});
  CHECK(split("1234567") == Pieces{"123", "456", "7"});
  CHECK(split("a1b") == Pieces{"a", "1", "b"});
  CHECK(split(" ?!x") == Pieces{" ?!", "x"});
  CHECK(split("ax\n####\nboo") == Pieces{"ax", "\n", "####\n", "boo"});
  CHECK(split("\tword") == Pieces{"\tword"});
  CHECK(split("٣٤٥٦") == Pieces{"٣٤٥", "٦"});  // \p{N} beyond ASCII
}

TEST_CASE("pre-tokenizer: contractions in any case, before the letter rule", "[tokenizer]") {
  CHECK(split("I'm") == Pieces{"I", "'m"});
  CHECK(split("WE'LL") == Pieces{"WE", "'LL"});
  CHECK(split("they'Re") == Pieces{"they", "'Re"});
  CHECK(split("x'sa") == Pieces{"x", "'s", "a"});
  CHECK(split("'x") == Pieces{"'x"});
  CHECK(split("'") == Pieces{"'"});
  // Unicode simple case folding: U+017F LONG S folds to 's' (Rust regex, Python regex and Oniguruma
  // agree; JavaScript ports that spell the group as [sS] do not).
  CHECK(split("x'\xC5\xBFtop") == Pieces{"x", "'\xC5\xBF", "top"});
}

TEST_CASE("pre-tokenizer: white space runs and the not-followed-by-non-space lookahead",
          "[tokenizer]") {
  CHECK(split("   Hello") == Pieces{"  ", " Hello"});
  CHECK(split("a   ") == Pieces{"a", "   "});
  CHECK(split("a \n\n b") == Pieces{"a", " \n\n", " b"});
  CHECK(split("  \n  x") == Pieces{"  \n", " ", " x"});
  CHECK(split("\r\n\r\nx") == Pieces{"\r\n\r\n", "x"});
  CHECK(split("a\t\tb") == Pieces{"a", "\t", "\tb"});
  CHECK(split(" ") == Pieces{" "});
  CHECK(split("\n =") == Pieces{"\n", " ="});
}

TEST_CASE("pre-tokenizer: the space class is Unicode White_Space (U+0085 yes, U+FEFF no)",
          "[tokenizer]") {
  CHECK(split("The\xC2\x85'd") == Pieces{"The", "\xC2\x85", "'d"});
  CHECK(split("a\xEF\xBB\xBF'd") == Pieces{"a", "\xEF\xBB\xBF'", "d"});
  CHECK(split("a\xE3\x80\x80\xE3\x80\x80"
              "b") == Pieces{"a", "\xE3\x80\x80",
                             "\xE3\x80\x80"
                             "b"});
}

TEST_CASE("pre-tokenizer: code points unassigned in Unicode 15.0 are not letters", "[tokenizer]") {
  // U+328D5 is a CJK Extension J letter only from Unicode 17.
  CHECK(split("\xF0\xB2\xA3\x95's") == Pieces{"\xF0\xB2\xA3\x95'", "s"});
  CHECK(llama3::detail::code_point_class(0x328D5) == 0);
  CHECK(llama3::detail::code_point_class(0x4E2D) == llama3::detail::kClassLetter);
  CHECK(llama3::detail::code_point_class(0x110000) == 0);
}

TEST_CASE("pre-tokenizer: invalid UTF-8 bytes are single punctuation-like characters",
          "[tokenizer]") {
  CHECK(split("a\xFF\xFE"
              "b") == Pieces{"a", "\xFF\xFE", "b"});  // like "a!!b"
  CHECK(split("\xFF"
              "b") == Pieces{"\xFF"
                             "b"});                                    // like "!b"
  CHECK(split("\xC3") == Pieces{"\xC3"});                              // truncated sequence
  CHECK(split("x\xED\xA0\x80y") == Pieces{"x", "\xED\xA0\x80", "y"});  // an encoded surrogate
  CHECK(split("\xC0\xAF!") == Pieces{"\xC0\xAF!"});                    // overlong '/'
}

TEST_CASE("pre-tokenizer pieces always cover the input exactly", "[tokenizer]") {
  const std::uint64_t seed = 12345;
  INFO("seed " << seed);
  std::uint64_t state = seed;
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int length = static_cast<int>(state % 40);
    for (int i = 0; i < length; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      text += static_cast<char>(state >> 56);
    }
    std::string joined;
    std::size_t n_pieces = 0;
    split_pieces(text, [&](std::string_view piece) {
      CHECK_FALSE(piece.empty());
      joined += piece;
      ++n_pieces;
    });
    REQUIRE(joined == text);
    CHECK(n_pieces <= text.size());
  }
}
