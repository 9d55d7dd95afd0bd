// End to end on a really trained tiny Llama (stories260K): file -> model -> tokens -> logits ->
// text.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "llama3/perplexity.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "support/stories_model.hpp"
#include "support/test_data.hpp"

using namespace llama3;
using testing::greedy_sampler;
using testing::stories_model;

TEST_CASE("stories260K greedy text from BOS is the known story", "[runtime][data]") {
  const Model& model = stories_model();
  Session session(model, {.n_threads = 2});
  Sampler sampler = greedy_sampler();
  const std::vector<TokenId> prompt{model.tokenizer().bos_id()};
  GenerateOptions options;
  options.max_tokens = 60;
  std::string streamed;
  options.on_piece = [&](std::string_view piece) {
    streamed += piece;
    return true;
  };
  const auto result = session.generate(prompt, sampler, options);
  const std::string expected =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
      "park. "
      "One day, she saw a big, red ball. She wanted to play with it, but it was too high";
  INFO(result.text);
  CHECK(result.text.substr(0, expected.size()) == expected);
  CHECK(streamed == result.text);
}

TEST_CASE("stories260K continues a prompt as the reference does", "[runtime][data]") {
  const Model& model = stories_model();
  Session session(model, {.n_threads = 1});
  Sampler sampler = greedy_sampler();
  const auto prompt = model.tokenizer().encode("Once upon a time", {.add_bos = true});
  GenerateOptions options;
  options.max_tokens = 24;
  const auto result = session.generate(prompt, sampler, options);
  INFO(result.text);
  CHECK(result.text.starts_with(
      ", there was a little girl named Lily. She loved to play outside in"));
}

TEST_CASE("stories260K stop strings cut the text and stop generation", "[runtime][data]") {
  const Model& model = stories_model();
  Session session(model, {.n_threads = 1});
  Sampler sampler = greedy_sampler();
  GenerateOptions options;
  options.max_tokens = 100;
  options.stop_strings = {"Lily"};
  std::string streamed;
  options.on_piece = [&](std::string_view piece) {
    streamed += piece;
    return true;
  };
  const auto result =
      session.generate(std::vector<TokenId>{model.tokenizer().bos_id()}, sampler, options);
  CHECK(result.stop_reason == StopReason::kStopString);
  CHECK(result.text == "Once upon a time, there was a little girl named ");
  CHECK(streamed == result.text);
}

namespace {

// The validation excerpt as a text-mode read gives it ("\r\n" -> "\n"), tokenized with BOS.
std::vector<TokenId> excerpt_tokens(const Tokenizer& tokenizer, std::size_t max_tokens) {
  std::ifstream in(testing::require_data_file("tinystories_valid_excerpt.txt"), std::ios::binary);
  std::ostringstream raw;
  raw << in.rdbuf();
  std::string text;
  for (char c : raw.str()) {
    if (c != '\r') text += c;
  }
  auto tokens = tokenizer.encode(text, {.add_bos = true});
  if (tokens.size() > max_tokens) tokens.resize(max_tokens);
  return tokens;
}

}  // namespace

TEST_CASE("stories260K perplexity over the first 1,794 tokens matches the references",
          "[runtime][data]") {
  const Model& model = stories_model();
  const auto tokens = excerpt_tokens(model.tokenizer(), 1794);
  REQUIRE(tokens.size() == 1794);

  // One window of all 1,794 tokens: the NumPy float64 reference (tests/python) measures 5.694.
  Session whole(model, {.n_ctx = 2048, .n_threads = 2});
  PerplexityOptions all_positions;
  all_positions.method = PerplexityOptions::Method::kAllPositions;
  const auto all = evaluate_perplexity(whole, tokens, all_positions);
  CHECK(all.n_scored == 1793);
  CHECK(all.perplexity == Approx(5.694).margin(0.005));

  // llama.cpp's method with the model's training context of 512: about 5.15-5.2.
  Session chunked(model, {.n_ctx = 512, .n_threads = 2});
  const auto chunks = evaluate_perplexity(chunked, tokens);
  CHECK(chunks.n_scored == 3 * 255);
  CHECK(chunks.perplexity > 5.10);
  CHECK(chunks.perplexity < 5.25);
}
