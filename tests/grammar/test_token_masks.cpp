// Token masks over the real Llama 3 vocabulary (no model): the cached, stack-top-keyed masks agree
// with checking every token byte by byte against the full parse state, tokens may end inside a
// UTF-8 character, and end-of-generation is allowed exactly where the output is complete.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <thread>

#include "grammar/benchmark_schemas.hpp"
#include "grammar/compiled_grammar.hpp"
#include "grammar/grammar_test_support.hpp"
#include "grammar/json_schema.hpp"
#include "grammar/token_masks.hpp"
#include "llama3/error.hpp"
#include "llama3/grammar.hpp"
#include "llama3/sampler.hpp"
#include "tokenizer/llama3_vocab.hpp"

using namespace llama3;

namespace {

std::vector<TokenId> allowed_tokens(GrammarMatcher& matcher, std::size_t n_vocab) {
  std::vector<float> logits(n_vocab, 0.0f);
  matcher.mask_logits(logits);
  std::vector<TokenId> allowed;
  for (std::size_t i = 0; i < n_vocab; ++i) {
    if (logits[i] == 0.0f) allowed.push_back(static_cast<TokenId>(i));
  }
  return allowed;
}

// The same set from fill_allowed_tokens(), given a bitmask one word longer than needed and full of
// ones (the extra word must come back cleared).
std::vector<TokenId> allowed_from_bitmask(GrammarMatcher& matcher, std::size_t n_vocab) {
  std::vector<std::uint64_t> bitmask((n_vocab + 63) / 64 + 1, ~std::uint64_t{0});
  matcher.fill_allowed_tokens(bitmask);
  REQUIRE(bitmask.back() == 0);
  std::vector<TokenId> allowed;
  for (std::size_t i = 0; i < bitmask.size() * 64; ++i) {
    if ((bitmask[i / 64] >> (i % 64)) & 1U) allowed.push_back(static_cast<TokenId>(i));
  }
  return allowed;
}

// Every token checked one by one against the reference byte matcher.
std::vector<TokenId> brute_force(grammar::ByteMatcher& reference, const Tokenizer& vocab) {
  std::vector<TokenId> allowed;
  for (std::size_t i = 0; i < vocab.vocab_size(); ++i) {
    const auto id = static_cast<TokenId>(i);
    if (vocab.is_end_of_generation(id)) {
      if (reference.is_accepting()) allowed.push_back(id);
      continue;
    }
    const TokenKind kind = vocab.kind(id);
    if (kind != TokenKind::kNormal && kind != TokenKind::kUserDefined && kind != TokenKind::kByte) {
      continue;
    }
    if (reference.allows(vocab.piece(id))) allowed.push_back(id);
  }
  return allowed;
}

const std::shared_ptr<const detail::TokenBytes>& llama3_token_bytes() {
  static const auto tokens =
      std::make_shared<const detail::TokenBytes>(testing::llama3_tokenizer());
  return tokens;
}

bool same_entry(const grammar::MaskEntry& a, const grammar::MaskEntry& b) {
  return a.word_index == b.word_index && a.words == b.words && a.uncertain == b.uncertain;
}

}  // namespace

TEST_CASE("precomputed and lazy masks agree with a token-by-token check on every benchmark schema",
          "[grammar][vocab]") {
  const Tokenizer& vocab = testing::llama3_tokenizer();
  const auto& tokens = llama3_token_bytes();
  const std::uint64_t seed = 20261204;
  std::printf("benchmark schema walk seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (const auto& [name, schema] : testing::kBenchmarkSchemas) {
    INFO(name);
    const bool recursive = std::string_view(name) == "any-json";
    auto ir = std::make_shared<const grammar::GrammarIr>(
        grammar::parse_gbnf(grammar::json_schema_to_gbnf(schema)));
    const Grammar grammar(std::make_shared<const detail::CompiledGrammar>(*ir, tokens));
    // Masks filled ahead by precompute() (one walker memo shared by every walk) and masks filled
    // on demand in walk order must be the same entries.
    grammar::TokenMaskCache precomputed(ir, tokens->trie());
    const bool complete = precomputed.precompute(recursive ? std::chrono::milliseconds(50)
                                                           : std::chrono::milliseconds(600000));
    CHECK(complete == !recursive);
    const std::size_t n_precomputed = precomputed.size();
    grammar::TokenMaskCache lazy(ir, tokens->trie());
    GrammarMatcher matcher(grammar);
    grammar::ByteMatcher reference(ir);
    for (int step = 0; step < 16; ++step) {
      for (grammar::StackId stack : reference.positions()) {
        if (stack == grammar::kAccepted) continue;
        const auto a = precomputed.entry_for(reference.pool(), stack);
        const auto b = lazy.entry_for(reference.pool(), stack);
        REQUIRE(same_entry(*a, *b));
        // Closed schemas: a deep enough key leaves few tokens to check against the full stack.
        if (!recursive) CHECK(a->uncertain.size() <= grammar::kMaxUncertainTokens);
      }
      const auto allowed = allowed_tokens(matcher, vocab.vocab_size());
      if (step % 4 == 0) REQUIRE(allowed == brute_force(reference, vocab));
      REQUIRE_FALSE(allowed.empty());
      const TokenId pick = allowed[rng() % allowed.size()];
      if (vocab.is_end_of_generation(pick)) break;
      REQUIRE(matcher.accept(pick));
      REQUIRE(reference.feed(vocab.piece(pick)));
    }
    // Every stack the walk met was reachable from the start, so a complete precompute left no
    // mask to compute on the way.
    if (complete) CHECK(precomputed.size() == n_precomputed);
  }
}

TEST_CASE("threads sharing one mask cache get the masks one thread computes", "[grammar][vocab]") {
  const Tokenizer& vocab = testing::llama3_tokenizer();
  const auto& tokens = llama3_token_bytes();
  // Any JSON value: nothing is precomputed here, so both threads walk the trie at once and hand
  // walkers back and forth through the cache's pool.
  auto ir = std::make_shared<const grammar::GrammarIr>(
      grammar::parse_gbnf(grammar::json_schema_to_gbnf("{}")));
  // The walk: the tokens of one JSON document, nested so the stacks outgrow the first key depth.
  std::vector<std::string> pieces;
  for (TokenId id :
       vocab.encode(R"({"a": [1, {"b": "x\u00e9y"}, null], "c": {"d": [[true, -2.5e3]]}})")) {
    pieces.push_back(vocab.piece(id));
  }
  auto masks_along = [&](const grammar::TokenMaskCache& cache) {
    std::vector<grammar::MaskEntry> out;
    grammar::ByteMatcher matcher(ir);
    for (const std::string& piece : pieces) {
      for (grammar::StackId stack : matcher.positions()) {
        if (stack != grammar::kAccepted) out.push_back(*cache.entry_for(matcher.pool(), stack));
      }
      if (!matcher.feed(piece)) return std::vector<grammar::MaskEntry>{};  // no Catch in threads
    }
    return out;
  };
  grammar::TokenMaskCache alone(ir, tokens->trie());
  const auto expected = masks_along(alone);
  REQUIRE_FALSE(expected.empty());
  grammar::TokenMaskCache shared(ir, tokens->trie());
  std::vector<grammar::MaskEntry> first, second;
  std::thread a([&] { first = masks_along(shared); });
  std::thread b([&] { second = masks_along(shared); });
  a.join();
  b.join();
  REQUIRE(first.size() == expected.size());
  REQUIRE(second.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(same_entry(first[i], expected[i]));
    CHECK(same_entry(second[i], expected[i]));
  }
}

TEST_CASE("token masks equal a token-by-token check along random walks", "[grammar][vocab]") {
  const Tokenizer& vocab = testing::llama3_tokenizer();
  const std::string gbnf = grammar::json_schema_to_gbnf(R"({"type": "object",
      "properties": {"name": {"type": "string", "maxLength": 12},
                     "kind": {"enum": ["cat", "dog"]},
                     "n": {"type": "array", "items": {"type": "integer"}, "maxItems": 3}},
      "required": ["name", "kind"]})");
  const Grammar grammar = Grammar::from_gbnf(gbnf, vocab);
  const std::uint64_t seed = 20261203;
  std::printf("token mask walk seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (int walk = 0; walk < 2; ++walk) {
    GrammarMatcher matcher(grammar);
    grammar::ByteMatcher reference(testing::gbnf(gbnf));
    for (int step = 0; step < 12; ++step) {
      const auto allowed = allowed_tokens(matcher, vocab.vocab_size());
      REQUIRE(allowed == brute_force(reference, vocab));
      REQUIRE(allowed_from_bitmask(matcher, vocab.vocab_size()) == allowed);
      REQUIRE_FALSE(allowed.empty());
      const TokenId pick = allowed[rng() % allowed.size()];
      if (vocab.is_end_of_generation(pick)) break;
      REQUIRE(matcher.accept(pick));
      REQUIRE(reference.feed(vocab.piece(pick)));
    }
  }
}

TEST_CASE("fill_allowed_tokens refuses a bitmask shorter than the vocabulary", "[grammar][vocab]") {
  const Tokenizer& vocab = testing::llama3_tokenizer();
  GrammarMatcher matcher(Grammar::from_regex("[0-9]+", vocab));
  std::vector<std::uint64_t> bitmask((vocab.vocab_size() + 63) / 64 - 1, 7);
  REQUIRE_THROWS_AS(matcher.fill_allowed_tokens(bitmask), Error);
  REQUIRE(bitmask.front() == 7);  // untouched
  bitmask.push_back(0);
  matcher.fill_allowed_tokens(bitmask);
  // Only digits (and no end of generation: the output is still empty).
  REQUIRE(allowed_from_bitmask(matcher, vocab.vocab_size()) ==
          allowed_tokens(matcher, vocab.vocab_size()));
  for (TokenId id : allowed_tokens(matcher, vocab.vocab_size())) {
    const std::string piece = vocab.piece(id);
    INFO("token " << id << " '" << piece << "'");
    REQUIRE(std::all_of(piece.begin(), piece.end(), [](char c) { return c >= '0' && c <= '9'; }));
  }
}

TEST_CASE("tokens may end inside a UTF-8 character", "[grammar][vocab]") {
  const Tokenizer& vocab = testing::llama3_tokenizer();
  const Grammar grammar = Grammar::from_gbnf(R"(root ::= "é" "x")", vocab);
  GrammarMatcher matcher(grammar);
  auto allowed_piece = [&](std::string_view piece) {
    for (TokenId id : allowed_tokens(matcher, vocab.vocab_size())) {
      if (vocab.piece(id) == piece) return true;
    }
    return false;
  };
  CHECK(allowed_piece("\xC3"));  // the first byte of é alone
  CHECK(allowed_piece("é"));
  CHECK_FALSE(allowed_piece("x"));
  TokenId lead_byte = -1;
  for (std::size_t i = 0; i < vocab.vocab_size() && lead_byte < 0; ++i) {
    if (vocab.piece(static_cast<TokenId>(i)) == "\xC3") lead_byte = static_cast<TokenId>(i);
  }
  REQUIRE(matcher.accept(lead_byte));
  CHECK(allowed_piece("\xA9"));
  CHECK_FALSE(allowed_piece("\xC3"));
  CHECK_FALSE(allowed_piece("x"));
}

TEST_CASE("end of generation is allowed only where the output is complete", "[grammar][vocab]") {
  const Tokenizer& vocab = testing::llama3_tokenizer();
  const Grammar grammar = Grammar::from_gbnf(R"(root ::= "ab" | "abc")", vocab);
  GrammarMatcher matcher(grammar);
  const TokenId eot = *vocab.find("<|eot_id|>");
  const TokenId bos = vocab.bos_id();
  auto is_allowed = [&](TokenId id) {
    const auto allowed = allowed_tokens(matcher, vocab.vocab_size());
    return std::find(allowed.begin(), allowed.end(), id) != allowed.end();
  };
  CHECK_FALSE(is_allowed(eot));
  CHECK_FALSE(matcher.accept(eot));
  REQUIRE(matcher.accept(vocab.encode("ab")[0]));
  CHECK(matcher.is_accepting());
  CHECK(is_allowed(eot));
  CHECK(is_allowed(vocab.encode("c")[0]));
  CHECK_FALSE(is_allowed(bos));  // other control tokens never
  REQUIRE(matcher.accept(eot));
  CHECK(matcher.is_finished());
  CHECK(allowed_tokens(matcher, vocab.vocab_size()).empty());
}

TEST_CASE("a Sampler with a grammar draws only what the grammar allows", "[grammar][vocab]") {
  const Tokenizer& vocab = testing::llama3_tokenizer();
  SamplerParams params;
  params.temperature = 1.0f;
  params.top_p = 1.0f;
  params.grammar = Grammar::from_regex("[0-9]{3}-[a-z]{2}", vocab);
  const std::uint64_t seed = 99;
  std::printf("grammar sampler seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  std::vector<float> logits(vocab.vocab_size());
  for (int run = 0; run < 5; ++run) {
    params.seed = static_cast<std::uint64_t>(run);
    Sampler sampler(params);
    sampler.accept_prompt(vocab.encode("any prompt text")[0]);  // prompts are not constrained
    std::vector<TokenId> output;
    for (int step = 0; step < 20; ++step) {
      for (auto& l : logits) l = static_cast<float>(rng() % 1000) / 100.0f;
      const TokenId id = sampler.sample(logits);
      sampler.accept(id);
      if (vocab.is_end_of_generation(id)) break;
      output.push_back(id);
    }
    const std::string text = vocab.decode(output);
    INFO(text);
    REQUIRE(text.size() == 6);
    CHECK(std::all_of(text.begin(), text.begin() + 3, [](char c) { return c >= '0' && c <= '9'; }));
    CHECK(text[3] == '-');
    CHECK(std::all_of(text.begin() + 4, text.end(), [](char c) { return c >= 'a' && c <= 'z'; }));
  }
  Sampler sampler(params);
  CHECK_THROWS_AS(sampler.accept(vocab.encode("x")[0]), Error);
}
