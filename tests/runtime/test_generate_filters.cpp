// Input and output filters in the generation loop, on the trained stories260K model whose greedy
// story is known ("Once upon a time, there was a little girl named Lily. ..."), so every assertion
// about where a filter acts is determined.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "support/stories_model.hpp"
#include "support/test_data.hpp"

using namespace llama3;
using testing::greedy_sampler;
using testing::stories_model;

namespace {

std::vector<TokenId> bos() {
  return {stories_model().tokenizer().bos_id()};
}

// Stops as soon as the text handed out would contain `pattern`.
OutputFilter stop_at(std::string pattern) {
  return [pattern](const OutputEvent& event) {
    if (!event.is_final && event.text.find(pattern) != std::string_view::npos) {
      return OutputVerdict::stop("saw " + pattern);
    }
    return OutputVerdict::pass();
  };
}

}  // namespace

TEST_CASE("a blocking input filter stops generate before any decode", "[runtime][data]") {
  Session session(stories_model(), {.n_threads = 1});
  Sampler sampler = greedy_sampler();
  const auto prefix = stories_model().tokenizer().encode("Once", {.add_bos = true});
  session.decode(prefix);
  const int n_past_before = session.n_past();
  const std::vector<float> logits_before(session.logits().begin(), session.logits().end());

  std::string seen;
  GenerateOptions options;
  options.input_filters.push_back([&](std::string_view text) {
    seen = text;
    return InputVerdict::deny("no dragons");
  });
  bool piece_called = false;
  options.on_piece = [&](std::string_view) {
    piece_called = true;
    return true;
  };
  const auto prompt = stories_model().tokenizer().encode(" upon a dragon");
  const auto result = session.generate(prompt, sampler, options);

  CHECK(result.stop_reason == StopReason::kBlocked);
  CHECK(result.filter_reason == "no dragons");
  CHECK(result.tokens.empty());
  CHECK(result.text.empty());
  CHECK(result.n_prompt_tokens == 0);
  CHECK_FALSE(piece_called);
  CHECK(seen.find("upon a dragon") != std::string::npos);
  CHECK(session.n_past() == n_past_before);
  CHECK(std::vector<float>(session.logits().begin(), session.logits().end()) == logits_before);
}

TEST_CASE("an allowing input filter sees the prompt and changes nothing", "[runtime][data]") {
  Session session(stories_model(), {.n_threads = 1});
  Sampler sampler = greedy_sampler();
  int calls = 0;
  GenerateOptions options;
  options.max_tokens = 12;
  options.input_filters.push_back([&](std::string_view text) {
    ++calls;
    CHECK(text.find("Once upon a time") != std::string_view::npos);
    return InputVerdict::allow();
  });
  const auto prompt = stories_model().tokenizer().encode("Once upon a time", {.add_bos = true});
  const auto result = session.generate(prompt, sampler, options);
  CHECK(calls == 1);
  CHECK(result.stop_reason == StopReason::kMaxTokens);
  CHECK(result.text.starts_with(", there was a little girl"));
}

TEST_CASE("an output filter stopping at a pattern withholds it and leaves the session usable",
          "[runtime][data]") {
  Session session(stories_model(), {.n_threads = 1});
  Sampler sampler = greedy_sampler();
  GenerateOptions options;
  options.max_tokens = 60;
  options.output_filters.push_back(stop_at("Lily"));
  std::string streamed;
  options.on_piece = [&](std::string_view piece) {
    streamed += piece;
    return true;
  };
  const auto result = session.generate(bos(), sampler, options);
  CHECK(result.stop_reason == StopReason::kFiltered);
  CHECK(result.filter_reason == "saw Lily");
  CHECK(result.text == "Once upon a time, there was a little girl named");
  CHECK(streamed == result.text);
  // BOS and every token before the withheld one are in the context.
  CHECK(session.n_past() == static_cast<int>(result.tokens.size()));

  // Generation continues from what was decoded, and plain decodes still work.
  GenerateOptions again;
  again.max_tokens = 5;
  const auto more = session.generate({}, sampler, again);
  CHECK(more.tokens.size() == 5);
  CHECK(session.n_past() == static_cast<int>(result.tokens.size()) + 5);
  const auto next = stories_model().tokenizer().encode(" She");
  CHECK(session.decode(next).size() == stories_model().tokenizer().vocab_size());
}

TEST_CASE("a redacting output filter replaces the piece in the stream and the result",
          "[runtime][data]") {
  Session session(stories_model(), {.n_threads = 1});
  Sampler sampler = greedy_sampler();
  GenerateOptions options;
  options.max_tokens = 30;
  options.output_filters.push_back([](const OutputEvent& event) {
    if (event.piece == " Lily") return OutputVerdict::redact(" [name]");
    return OutputVerdict::pass();
  });
  // A second filter sees the redacted piece, never the original.
  bool later_saw_name = false;
  options.output_filters.push_back([&](const OutputEvent& event) {
    later_saw_name = later_saw_name || event.text.find("Lily") != std::string_view::npos;
    return OutputVerdict::pass();
  });
  std::string streamed;
  options.on_piece = [&](std::string_view piece) {
    streamed += piece;
    return true;
  };
  const auto result = session.generate(bos(), sampler, options);
  CHECK(result.text.starts_with("Once upon a time, there was a little girl named [name]. She"));
  CHECK(result.text.find("Lily") == std::string::npos);
  CHECK(streamed == result.text);
  CHECK_FALSE(later_saw_name);
}

TEST_CASE("output filters annotate, and see the whole text once at the end", "[runtime][data]") {
  Session session(stories_model(), {.n_threads = 1});
  Sampler sampler = greedy_sampler();
  GenerateOptions options;
  options.max_tokens = 40;
  int final_calls = 0;
  std::string final_text;
  std::string pieces;
  options.output_filters.push_back([&](const OutputEvent& event) {
    if (event.is_final) {
      ++final_calls;
      final_text = event.text;
      CHECK(event.piece.empty());
      return OutputVerdict::annotate("done");
    }
    CHECK(event.text.ends_with(event.piece));
    CHECK(event.text.size() == pieces.size() + event.piece.size());
    pieces += event.piece;
    if (event.text.ends_with("girl")) {
      return OutputVerdict::annotate("girl at " + std::to_string(event.text.size()));
    }
    return OutputVerdict::pass();
  });
  const auto result = session.generate(bos(), sampler, options);
  CHECK(result.stop_reason == StopReason::kMaxTokens);
  CHECK(final_calls == 1);
  CHECK(final_text == result.text);
  CHECK(pieces == result.text);
  // "Once upon a time, there was a little girl" is 41 bytes.
  CHECK(result.notes == std::vector<std::string>{"girl at 41", "done"});
}

TEST_CASE("a final-call stop rejects the text and a final redaction replaces it",
          "[runtime][data]") {
  Session session(stories_model(), {.n_threads = 1});
  Sampler sampler = greedy_sampler();
  GenerateOptions options;
  options.max_tokens = 10;
  options.output_filters.push_back([](const OutputEvent& event) {
    return event.is_final ? OutputVerdict::redact("[withdrawn]") : OutputVerdict::pass();
  });
  auto result = session.generate(bos(), sampler, options);
  CHECK(result.stop_reason == StopReason::kMaxTokens);
  CHECK(result.text == "[withdrawn]");

  session.reset();
  sampler.reset();
  options.output_filters = {[](const OutputEvent& event) {
    return event.is_final ? OutputVerdict::stop("rejected as a whole") : OutputVerdict::pass();
  }};
  result = session.generate(bos(), sampler, options);
  CHECK(result.stop_reason == StopReason::kFiltered);
  CHECK(result.filter_reason == "rejected as a whole");
  CHECK(result.tokens.size() == 10);
  CHECK(result.text.starts_with("Once upon a time"));
}

TEST_CASE("stop strings are applied before output filters see the text", "[runtime][data]") {
  Session session(stories_model(), {.n_threads = 1});
  Sampler sampler = greedy_sampler();
  GenerateOptions options;
  options.max_tokens = 60;
  options.stop_strings = {"Lily"};
  bool filter_saw_stop_string = false;
  options.output_filters.push_back([&](const OutputEvent& event) {
    filter_saw_stop_string =
        filter_saw_stop_string || event.text.find("Lil") != std::string_view::npos;
    return OutputVerdict::pass();
  });
  const auto result = session.generate(bos(), sampler, options);
  CHECK(result.stop_reason == StopReason::kStopString);
  CHECK(result.text == "Once upon a time, there was a little girl named ");
  CHECK_FALSE(filter_saw_stop_string);
}
