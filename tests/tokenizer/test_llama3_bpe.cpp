// Rank-based BPE (tiktoken semantics) and properties of the Llama 3 encoder on the real vocabulary:
// scan and heap merge loops agree, long pieces stay fast, round trips, invalid UTF-8, threads,
// streaming.
#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "tokenizer/bpe_merge.hpp"
#include "tokenizer/llama3_bpe.hpp"
#include "tokenizer/llama3_vocab.hpp"
#include "tokenizer/text_generator.hpp"

using llama3::TokenId;
using llama3::testing::llama3_tokenizer;
using Ids = std::vector<TokenId>;

namespace {
const llama3::detail::TokenRanks& real_ranks() {
  return dynamic_cast<const llama3::detail::Llama3BpeTokenizer&>(
             llama3::detail::TokenizerAccess::impl(llama3_tokenizer()))
      .ranks();
}
}  // namespace

TEST_CASE("BPE: the scan and heap merge loops give the same ids", "[tokenizer][data]") {
  const auto& ranks = real_ranks();
  const std::uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const std::string alphabet[] = {"a", "b", "e", "r", "s", " ", "\xC3\xA9", "\xE4\xB8\xAD",
                                  "1", "!"};
  for (int round = 0; round < 3000; ++round) {
    std::string piece;
    const auto length = 2 + rng() % 60;
    for (std::size_t i = 0; i < length; ++i) piece += alphabet[rng() % (1 + rng() % 10)];
    if (piece.size() > 64) piece.resize(64);
    Ids by_scan, by_heap;
    llama3::detail::bpe_merge_by_scan(ranks, piece, by_scan);
    llama3::detail::bpe_merge_by_heap(ranks, piece, by_heap);
    INFO("piece '" << piece << "'");
    REQUIRE(by_scan == by_heap);
  }
}

TEST_CASE("BPE: a 100 KB run of one letter round-trips and starts as the short run does",
          "[tokenizer][data]") {
  const auto& tok = llama3_tokenizer();
  const std::string run(100000, 'a');
  const Ids ids = tok.encode(run);
  CHECK(tok.decode(ids) == run);
  // The same result as merging the first 64 bytes alone, repeated: "aaaa..." merges greedily into
  // the longest all-'a' tokens from the left.
  Ids small;
  llama3::detail::bpe_merge_by_scan(real_ranks(), std::string(64, 'a'), small);
  REQUIRE(!small.empty());
  CHECK(ids.front() == small.front());
  const std::string spaces(100000, ' ');
  CHECK(tok.decode(tok.encode(spaces + "x")) == spaces + "x");
}

TEST_CASE("decode(encode(s)) == s for valid UTF-8 text", "[tokenizer][data]") {
  const auto& tok = llama3_tokenizer();
  const std::uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  llama3::testing::TextGenerator generator(seed);
  for (int i = 0; i < 2000; ++i) {
    const std::string text = generator.text(1 + i % 20);
    REQUIRE(tok.decode(tok.encode(text)) == text);
  }
}

TEST_CASE("invalid UTF-8 passes through the byte-level BPE unchanged", "[tokenizer][data]") {
  const auto& tok = llama3_tokenizer();
  const std::uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 50, '\0');
    for (auto& byte : bytes) byte = static_cast<char>(rng());
    const Ids ids = tok.encode(bytes);
    for (TokenId id : ids) REQUIRE((id >= 0 && id < 128000));
    REQUIRE(tok.decode(ids) == bytes);
  }
  CHECK(tok.encode("\xFF") == Ids{187});
}

TEST_CASE("several threads encoding at once get the same ids", "[tokenizer][data][concurrency]") {
  const auto& tok = llama3_tokenizer();
  llama3::testing::TextGenerator generator(7);
  const std::string text = generator.corpus(200000);
  const Ids expected = tok.encode(text);
  std::vector<Ids> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) result = tok.encode(text);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) CHECK(result == expected);
}

TEST_CASE("StreamDecoder never splits a character of real multi-byte tokens", "[tokenizer][data]") {
  const auto& tok = llama3_tokenizer();
  const std::string text = "🦙Ꙋ 镇 naïve 👨‍👩‍👧‍👦!";
  const Ids ids = tok.encode(text);
  REQUIRE(ids.size() >= 6);
  CHECK(ids[0] == 9468);  // 🦙 is three tokens, none a whole character
  llama3::StreamDecoder stream(tok);
  std::string streamed;
  for (TokenId id : ids) {
    const std::string chunk = stream.push(id);
    if (id == 9468) CHECK(chunk.empty());
    streamed += chunk;
  }
  streamed += stream.flush();
  CHECK(streamed == text);
}
