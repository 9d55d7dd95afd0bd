// SentencePiece-style tokenizer on a hand-built vocabulary: merge order by score, byte fallback,
// the space prefix and its removal on decode, and round trips.
#include <catch2/catch.hpp>

#include "llama3/error.hpp"
#include "tokenizer/sentencepiece.hpp"

using namespace llama3;
using detail::SentencePieceTokenizer;
using detail::SentencePieceVocab;

namespace {

struct Entry {
  const char* text;
  float score;
  TokenKind kind = TokenKind::kNormal;
};

SentencePieceVocab make_vocab(std::initializer_list<Entry> extra = {}) {
  SentencePieceVocab vocab;
  const std::vector<Entry> base{
      {"<unk>", 0, TokenKind::kUnknown},  // 0
      {"<s>", 0, TokenKind::kControl},    // 1
      {"</s>", 0, TokenKind::kControl},   // 2
      {"<0x21>", 0, TokenKind::kByte},    // 3: '!'
      {"<0xC3>", 0, TokenKind::kByte},    // 4
      {"<0xA9>", 0, TokenKind::kByte},    // 5: C3 A9 is "é"
      {"\xE2\x96\x81", -1},               // 6: "▁"
      {"h", -2},                          // 7
      {"e", -2},                          // 8
      {"l", -2},                          // 9
      {"o", -2},                          // 10
      {"ll", -3},                         // 11
      {"he", -4},                         // 12
      {"hell", -5},                       // 13
      {"hello", -6},                      // 14
      {"\xE2\x96\x81hello", -7},          // 15: "▁hello"
  };
  for (const auto& list : {std::vector<Entry>(base), std::vector<Entry>(extra)}) {
    for (const auto& e : list) {
      vocab.tokens.push_back(e.text);
      vocab.scores.push_back(e.score);
      vocab.kinds.push_back(e.kind);
    }
  }
  return vocab;
}

Tokenizer make_tokenizer(SentencePieceVocab vocab) {
  return detail::TokenizerAccess::make(std::make_shared<SentencePieceTokenizer>(std::move(vocab)));
}

using Ids = std::vector<TokenId>;

}  // namespace

TEST_CASE("sentencepiece merges pairs until the best-scoring whole word remains", "[tokenizer]") {
  const auto tok = make_tokenizer(make_vocab());
  CHECK(tok.family() == Tokenizer::Family::kSentencePiece);
  // ▁ h e l l o -> ll (-3) -> he (-4) -> hell -> hello -> ▁hello
  CHECK(tok.encode("hello") == Ids{15});
  CHECK(tok.encode("hello", {.add_bos = true, .add_eos = true}) == Ids{1, 15, 2});
  CHECK(tok.encode("hello hello") == Ids{15, 15});
  CHECK(tok.encode("hell") == Ids{6, 13});
}

TEST_CASE("sentencepiece merges the highest score first, leftmost on ties", "[tokenizer]") {
  // "abc" with both "ab" and "bc" in the vocabulary: whichever merges first blocks the other.
  auto with_scores = [](float ab, float bc) {
    return make_tokenizer(make_vocab({{"a", -2}, {"b", -2}, {"c", -2}, {"ab", ab}, {"bc", bc}}));
  };
  // ids: a 16, b 17, c 18, ab 19, bc 20; the text starts with "▁" (6), which merges with nothing
  CHECK(with_scores(-1.0f, -0.5f).encode("abc") == Ids{6, 16, 20});
  CHECK(with_scores(-0.5f, -1.0f).encode("abc") == Ids{6, 19, 18});
  CHECK(with_scores(-1.0f, -1.0f).encode("abc") == Ids{6, 19, 18});
  // A lower-scored merge inside a longer word still happens once the better one is blocked.
  CHECK(with_scores(-1.0f, -0.5f).encode("abcab") == Ids{6, 16, 20, 19});
}

TEST_CASE("sentencepiece falls back to byte tokens, or one unknown token", "[tokenizer]") {
  const auto tok = make_tokenizer(make_vocab());
  CHECK(tok.encode("hello!") == Ids{15, 3});
  CHECK(tok.encode("\xC3\xA9") == Ids{6, 4, 5});   // "é": not a token, spelled as its two bytes
  CHECK(tok.encode("\xE2\x82\xAC") == Ids{6, 0});  // "€": no byte tokens for it -> <unk>
  CHECK(tok.decode(Ids{15, 4, 5, 3}) == "hello\xC3\xA9!");

  auto vocab = make_vocab();
  vocab.unknown = -1;
  const auto no_unknown = make_tokenizer(std::move(vocab));
  CHECK_THROWS_AS(no_unknown.encode("\xE2\x82\xAC"), Error);
}

TEST_CASE("sentencepiece adds the space prefix only at the start of the text", "[tokenizer]") {
  const auto tok = make_tokenizer(make_vocab());
  CHECK(tok.encode("") == Ids{});
  CHECK(tok.encode("", {.add_bos = true}) == Ids{1});
  // After a special token the text is not at its start: no "▁" is added.
  CHECK(tok.encode("<s>hello", {.parse_special = true}) == Ids{1, 14});

  auto vocab = make_vocab();
  vocab.add_space_prefix = false;
  const auto no_prefix = make_tokenizer(std::move(vocab));
  CHECK(no_prefix.encode("hello") == Ids{14});
  CHECK(no_prefix.encode(" hello") == Ids{15});
  CHECK(no_prefix.decode(Ids{15}) == " hello");  // nothing to strip when nothing was added
}

TEST_CASE("sentencepiece decodes ▁ as a space and strips the prefix it added", "[tokenizer]") {
  const auto tok = make_tokenizer(make_vocab());
  CHECK(tok.piece(15) == " hello");
  CHECK(tok.piece(6) == " ");
  CHECK(tok.piece(4) == "\xC3");
  CHECK(tok.piece(1).empty());
  CHECK(tok.piece(1, true) == "<s>");
  CHECK(tok.decode(Ids{1, 15, 15, 2}) == "hello hello");
  for (const char* text :
       {"hello", "hello hello", " hello", "  hell o!", "h\xC3\xA9llo!", "ello he"}) {
    INFO(text);
    CHECK(tok.decode(tok.encode(text, {.add_bos = true})) == text);
  }
}

TEST_CASE("sentencepiece vocabulary facts", "[tokenizer]") {
  const auto tok = make_tokenizer(make_vocab());
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  CHECK(tok.add_bos_by_default());
  CHECK(tok.end_of_generation_ids() == Ids{2});
  CHECK(tok.kind(4) == TokenKind::kByte);
  CHECK(tok.find("hello") == 14);
}

TEST_CASE("sentencepiece rejects inconsistent vocabularies", "[tokenizer]") {
  auto vocab = make_vocab();
  vocab.scores.pop_back();
  CHECK_THROWS_AS(SentencePieceTokenizer(vocab), Error);
  vocab = make_vocab();
  vocab.kinds.pop_back();
  CHECK_THROWS_AS(SentencePieceTokenizer(vocab), Error);
  vocab = make_vocab();
  vocab.eos = 1000;
  CHECK_THROWS_AS(SentencePieceTokenizer(vocab), Error);
  vocab = make_vocab({{"<0xZZ>", 0, TokenKind::kByte}});
  try {
    SentencePieceTokenizer bad(vocab);
    FAIL("accepted a malformed byte token");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBadFormat);
    CHECK_THAT(e.what(), Catch::Contains("<0xZZ>"));
  }
}
