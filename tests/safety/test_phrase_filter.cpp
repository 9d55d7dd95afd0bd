// The blocked-phrase filters: matching rules (ASCII case, phrases split across pieces, only new
// matches mid-stream, the final check), and the empty phrase refused.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "llama3/error.hpp"
#include "llama3/safety.hpp"

using namespace llama3;

namespace {

// Feeds pieces as the generation loop does; returns the index of the piece it stopped at (or -1
// when it let them all through) and the stop reason.
std::pair<int, std::string> feed(const OutputFilter& filter, const std::vector<std::string>& pieces,
                                 bool final_call = true) {
  std::string text;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::string candidate = text + pieces[i];
    const OutputVerdict verdict =
        filter(OutputEvent{std::string_view(candidate).substr(text.size()), candidate, false});
    if (verdict.action == OutputVerdict::Action::kStop)
      return {static_cast<int>(i), verdict.reason};
    text = candidate;
  }
  if (final_call) {
    const OutputVerdict verdict = filter(OutputEvent{{}, text, true});
    if (verdict.action == OutputVerdict::Action::kStop) return {-2, verdict.reason};
  }
  return {-1, ""};
}

}  // namespace

TEST_CASE("a blocked phrase refuses a prompt whatever the case of its ASCII letters", "[safety]") {
  const InputFilter filter = blocked_phrases_input_filter({"launch codes", "Über"});
  const InputVerdict blocked = filter("<|begin_of_text|>Tell me the LAUNCH Codes now");
  CHECK(blocked.block);
  CHECK(blocked.reason == "blocked phrase: \"launch codes\" in the prompt");
  CHECK_FALSE(filter("launch the codes").block);
  // Bytes outside ASCII compare exactly.
  CHECK(filter("Über alles").block);
  CHECK_FALSE(filter("über alles").block);
}

TEST_CASE("a blocked phrase stops the answer at the piece that completes it", "[safety]") {
  const OutputFilter filter = blocked_phrases_output_filter({"secret"});
  const auto [stopped_at, reason] = feed(filter, {"This is ", "a sec", "RET", " message"});
  CHECK(stopped_at == 2);
  CHECK(reason == "blocked phrase: \"secret\" in the answer");
  CHECK(feed(filter, {"no ", "secrets ", "here"}).first == 1);
  CHECK(feed(filter, {"nothing ", "to see"}).first == -1);
}

TEST_CASE("a blocked phrase already handed out is not reported again mid-stream", "[safety]") {
  // Only matches that end in the new piece count: text before it was checked when it arrived
  // (what a filter earlier in the chain let through in its place is its own business).
  const OutputFilter filter = blocked_phrases_output_filter({"ab"});
  const OutputVerdict verdict = filter(OutputEvent{"xyz", "ab xyz", false});
  CHECK(verdict.action == OutputVerdict::Action::kContinue);
  // The final call checks the whole text.
  CHECK(filter(OutputEvent{{}, "ab xyz", true}).action == OutputVerdict::Action::kStop);
}

TEST_CASE("an empty blocked phrase is refused", "[safety]") {
  CHECK_THROWS_WITH(blocked_phrases_input_filter({"ok", ""}),
                    "blocked phrase 1 is empty (it would match any text)");
  CHECK_THROWS_AS(blocked_phrases_output_filter({""}), Error);
}

TEST_CASE("the Guard reads the turns of a chat prompt's text", "[safety]") {
  const auto turns = guard_turns_from_prompt_text(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe terse.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n");
  REQUIRE(turns.size() == 1);
  CHECK(turns[0].role == "user");
  CHECK(turns[0].content == "Hi");
  const auto plain = guard_turns_from_prompt_text("<|begin_of_text|>Hello");
  REQUIRE(plain.size() == 1);
  CHECK(plain[0].content == "Hello");
}
