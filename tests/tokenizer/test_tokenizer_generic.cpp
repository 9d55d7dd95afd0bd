// The generic half of Tokenizer (special tokens, BOS/EOS, decoding, streaming), driven by a toy
// vocabulary of 256 byte tokens plus a few control tokens.
#include <catch2/catch.hpp>

#include "llama3/error.hpp"
#include "tokenizer/tokenizer_impl.hpp"

using namespace llama3;

namespace {

class ByteVocab : public detail::TokenizerImpl {
 public:
  explicit ByteVocab(detail::VocabInfo info, bool strip = false)
      : TokenizerImpl(std::move(info)), strip_(strip) {}
  Tokenizer::Family family() const override { return Tokenizer::Family::kLlama3Bpe; }
  void encode_plain(std::string_view text, bool, std::vector<TokenId>& out) const override {
    for (unsigned char c : text) out.push_back(c);
  }
  std::string token_bytes(TokenId id) const override {
    return std::string(1, static_cast<char>(id));
  }
  bool strips_leading_space() const override { return strip_; }

 private:
  bool strip_;
};

Tokenizer make_tokenizer(bool strip = false) {
  detail::VocabInfo info;
  for (int b = 0; b < 256; ++b) {
    info.token_text.push_back(std::string(1, static_cast<char>(b)));
    info.kinds.push_back(TokenKind::kNormal);
  }
  for (const char* special : {"<s>", "</s>", "<|eot|>", "<|eot_long|>"}) {
    info.token_text.push_back(special);
    info.kinds.push_back(TokenKind::kControl);
  }
  info.bos = 256;
  info.eos = 257;
  info.end_of_generation = {258, 257, 258};
  return detail::TokenizerAccess::make(std::make_shared<ByteVocab>(std::move(info), strip));
}

}  // namespace

TEST_CASE("special-token text is plain text unless parse_special is asked", "[tokenizer]") {
  const auto tok = make_tokenizer();
  CHECK(tok.encode("a<s>").size() == 4);
  CHECK(tok.encode("a<s>", {.parse_special = true}) == std::vector<TokenId>{'a', 256});
}

TEST_CASE("parse_special prefers the longest special token", "[tokenizer]") {
  const auto tok = make_tokenizer();
  CHECK(tok.encode("<|eot_long|>x", {.parse_special = true}) == std::vector<TokenId>{259, 'x'});
  CHECK(tok.encode("<|eot|>", {.parse_special = true}) == std::vector<TokenId>{258});
}

TEST_CASE("BOS is never added twice", "[tokenizer]") {
  const auto tok = make_tokenizer();
  CHECK(tok.encode("<s>hi", {.add_bos = true, .parse_special = true}) ==
        std::vector<TokenId>{256, 'h', 'i'});
  CHECK(tok.encode("hi", {.add_bos = true, .add_eos = true}) ==
        std::vector<TokenId>{256, 'h', 'i', 257});
}

TEST_CASE("end-of-generation ids are sorted and unique", "[tokenizer]") {
  const auto tok = make_tokenizer();
  CHECK(tok.end_of_generation_ids() == std::vector<TokenId>{257, 258});
  CHECK(tok.is_end_of_generation(258));
  CHECK_FALSE(tok.is_end_of_generation('a'));
}

TEST_CASE("decode hides control tokens unless asked and rejects bad ids", "[tokenizer]") {
  const auto tok = make_tokenizer();
  const std::vector<TokenId> ids{256, 'o', 'k', 258};
  CHECK(tok.decode(ids) == "ok");
  CHECK(tok.decode(ids, true) == "<s>ok<|eot|>");
  CHECK_THROWS_AS(tok.piece(100000), Error);
  CHECK_THROWS_AS(tok.piece(-1), Error);
}

TEST_CASE("sentencepiece-style decoding drops the first leading space", "[tokenizer]") {
  const auto tok = make_tokenizer(/*strip=*/true);
  const std::vector<TokenId> ids{256, ' ', 'a', ' ', 'b'};
  CHECK(tok.decode(ids) == "a b");
}

TEST_CASE("stream decoder never splits a UTF-8 character", "[tokenizer]") {
  const auto tok = make_tokenizer();
  StreamDecoder stream(tok);
  const std::string llama = "\xF0\x9F\xA6\x99";  // U+1F999, four bytes
  CHECK(stream.push('a') == "a");
  CHECK(stream.push(static_cast<unsigned char>(llama[0])).empty());
  CHECK(stream.push(static_cast<unsigned char>(llama[1])).empty());
  CHECK(stream.push(static_cast<unsigned char>(llama[2])).empty());
  CHECK(stream.push(static_cast<unsigned char>(llama[3])) == llama);
  CHECK(stream.push(static_cast<unsigned char>('\xC3')).empty());
  CHECK(stream.flush() == "\xC3");  // incomplete at the end: handed over, not lost
}
