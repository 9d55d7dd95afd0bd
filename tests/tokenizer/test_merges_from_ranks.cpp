// merges_from_ranks: the merge list a tiktoken rank file implies, which convert writes for a Meta
// folder's tokenizer.model, is llama.cpp's own list for Llama 3 (from tokenizer.json) entry for
// entry, and follows the id order by the same check the GGUF loader applies.
#include <catch2/catch.hpp>

#include "io/gguf.hpp"
#include "llama3/tokenizer.hpp"
#include "support/test_data.hpp"
#include "tokenizer/merge_order.hpp"
#include "tokenizer/tokenizer_impl.hpp"

using namespace llama3;

TEST_CASE("merges from Llama 3's ranks are llama.cpp's merges", "[tokenizer]") {
  const auto path = testing::require_data_file("ggml-vocab-llama-bpe.gguf");
  const Tokenizer tokenizer = Tokenizer::load(path);
  const auto& info = detail::TokenizerAccess::impl(tokenizer).info();
  std::vector<bool> mergeable(info.kinds.size());
  for (std::size_t id = 0; id < mergeable.size(); ++id) {
    mergeable[id] = info.kinds[id] == TokenKind::kNormal;
  }
  const auto merges = detail::merges_from_ranks(info.token_text, mergeable);
  const auto file = io::GgufFile::open(path);
  const auto& expected = file.get("tokenizer.ggml.merges").strings("m");
  REQUIRE(merges.size() == expected.size());
  std::size_t first_difference = merges.size();
  for (std::size_t i = 0; i < merges.size() && first_difference == merges.size(); ++i) {
    if (merges[i] != expected[i]) first_difference = i;
  }
  INFO("first difference at " << first_difference);
  CHECK(first_difference == merges.size());
  CHECK_NOTHROW(detail::check_merges_follow_ids(merges, info.token_text, mergeable, "m"));
}

TEST_CASE("merges from ranks on a hand-made vocabulary", "[tokenizer]") {
  // a b ab c abc bc: "abc" is ab+c and a+bc; "bc" comes after "abc", so a+bc is listed under abc.
  const std::vector<std::string> text = {"a", "b", "ab", "c", "abc", "bc", "<s>"};
  const std::vector<bool> mergeable = {true, true, true, true, true, true, false};
  CHECK(detail::merges_from_ranks(text, mergeable) ==
        std::vector<std::string>{"a b", "a bc", "ab c", "b c"});
}
