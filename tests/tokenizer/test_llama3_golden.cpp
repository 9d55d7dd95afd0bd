// Published Llama 3 token id lists (docs/facts.md §2): Meta's test_tokenizer.py,
// llama3-tokenizer-js's runTests() and llama.cpp's ggml-vocab-llama-bpe vectors, encoded with the
// real vocabulary.
#include <catch2/catch.hpp>

#include "tokenizer/llama3_vocab.hpp"

using llama3::TokenId;
using llama3::testing::llama3_tokenizer;
using Ids = std::vector<TokenId>;

TEST_CASE("Meta test_tokenizer.py: encode with bos and eos", "[tokenizer][data]") {
  const auto& tok = llama3_tokenizer();
  CHECK(tok.encode("This is a test sentence.", {.add_bos = true, .add_eos = true}) ==
        Ids{128000, 2028, 374, 264, 1296, 11914, 13, 128001});
}

TEST_CASE("llama3-tokenizer-js runTests vectors", "[tokenizer][data]") {
  const auto& tok = llama3_tokenizer();
  const std::vector<std::pair<std::string, Ids>> cases = {
      {"grabbed", {59312, 2788}},
      {" grabbed", {30418}},
      {"           grabbed", {1881, 30418}},
      {"\n", {198}},
      {" \n", {720}},
      {"\ttabs\t\t\t\tout here", {3324, 3518, 573, 14294, 1618}},
      {"ax\n####\nboo", {710, 198, 71050, 34093}},
      {"镇", {104643}},
      {"🦙", {9468, 99, 247}},
      {"🦙Ꙋ", {9468, 99, 247, 166, 247, 232}},
      {"This is a test sentence.", {2028, 374, 264, 1296, 11914, 13}},
      {"Hello world!", {9906, 1917, 0}},
  };
  for (const auto& [text, ids] : cases) {
    INFO("text: '" << text << "'");
    CHECK(tok.encode(text) == ids);
  }
  CHECK(tok.encode("Hello world!", {.add_bos = true, .add_eos = true}) ==
        Ids{128000, 9906, 1917, 0, 128001});
}

TEST_CASE("llama.cpp ggml-vocab-llama-bpe vectors", "[tokenizer][data]") {
  const auto& tok = llama3_tokenizer();
  CHECK(tok.encode("").empty());
  CHECK(tok.encode("Hello world") == Ids{9906, 1917});
  CHECK(tok.encode(" Hello world") == Ids{22691, 1917});
  CHECK(tok.encode("   Hello") == Ids{256, 22691});
  CHECK(tok.encode("333333333") == Ids{8765, 8765, 8765});
  CHECK(tok.encode("\n =") == Ids{198, 284});
}

TEST_CASE("special tokens are parsed only when asked, with the 3.0 names of tokenizer.json",
          "[tokenizer][data]") {
  const auto& tok = llama3_tokenizer();
  const std::string text = "<|start_header_id|>This text has special tokens<|eot_id|>";
  CHECK(tok.encode(text, {.parse_special = true}) ==
        Ids{128006, 2028, 1495, 706, 3361, 11460, 128009});
  const Ids plain = tok.encode(text);
  CHECK(plain.size() > 7);
  for (TokenId id : plain) CHECK(id < 128000);
  CHECK(tok.decode(plain) == text);
  CHECK(tok.find("<|reserved_special_token_2|>") == 128004);  // 3.0 naming in this file
  CHECK(tok.find("<|eot_id|>") == 128009);
}

TEST_CASE("known single tokens of the Llama 3 vocabulary", "[tokenizer][data]") {
  const auto& tok = llama3_tokenizer();
  CHECK(tok.vocab_size() == 128256);
  CHECK(tok.encode("!") == Ids{0});
  CHECK(tok.encode(std::string(1, '\0')) == Ids{188});
  CHECK(tok.encode("\xFF") == Ids{187});
  CHECK(tok.encode("\t") == Ids{197});
  CHECK(tok.encode(" ") == Ids{220});
  CHECK(tok.encode("\n\n") == Ids{271});
  CHECK(tok.encode("user") == Ids{882});
  CHECK(tok.encode("system") == Ids{9125});
  CHECK(tok.encode("assistant") == Ids{78191});
  CHECK(tok.bos_id() == 128000);
  CHECK(tok.eos_id() == 128001);
  CHECK(tok.end_of_generation_ids() == Ids{128001, 128009});  // 3.0 names: no <|eom_id|>
}
