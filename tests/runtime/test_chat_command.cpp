// `llama3 chat`: scripted lines on stdin, one answer per line, the session kept between turns. The
// model has random weights and the real Llama 3 vocabulary (so it has the chat header tokens).
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "llama3/chat.hpp"
#include "llama3/model.hpp"
#include "support/run_tool.hpp"
#include "support/test_models.hpp"

using namespace llama3;

namespace {

struct TurnStatus {
  int tokens;
  std::string stop;
  int context;
};

std::vector<TurnStatus> turn_statuses(const std::string& err) {
  static const std::regex line(
      R"(\[turn (\d+): (\d+) tokens, stop: (\w+), context: (\d+) tokens\])");
  std::vector<TurnStatus> turns;
  for (std::sregex_iterator it(err.begin(), err.end(), line), end; it != end; ++it) {
    turns.push_back({std::stoi((*it)[2]), (*it)[3], std::stoi((*it)[4])});
  }
  return turns;
}

}  // namespace

TEST_CASE("llama3 chat answers each stdin line and keeps the session between turns",
          "[runtime][data]") {
  testing::require_data_file("ggml-vocab-llama-bpe.gguf");  // make_test_model reads it
  const auto path = testing::make_test_model(
      "--vocab llama3 --type q8_0 --tied --layers 1 --seed 11", "random-chat.gguf");
  const auto run = testing::run_tool(
      "chat -m " + path.string() + " -n 3 --temp 0 --threads 2 --system 'Be brief.'",
      "chat-command", "Hello\n\nWhat is 2+2?\n");
  INFO(run.err);
  CHECK(run.exit_code == 0);
  const auto turns = turn_statuses(run.err);
  REQUIRE(turns.size() == 2);  // the empty line is not a turn

  // What each turn decodes, from the chat format itself: turn 1 the whole dialog so far, turn 2
  // only the end of the previous answer, the new message and the assistant header.
  const Model model = Model::load(path);
  ChatOptions chat_options;  // as the command sets them
  chat_options.chat_template = model.metadata_string("tokenizer.chat_template");
  const ChatFormat chat(model.tokenizer(), chat_options);
  const auto first =
      chat.encode_dialog_prompt({{Role::kSystem, "Be brief."}, {Role::kUser, "Hello"}});
  const auto second = chat.encode_message({Role::kUser, "What is 2+2?"});
  const auto header = chat.encode_header(Role::kAssistant);
  if (turns[0].stop == "max_tokens") {
    CHECK(turns[0].context == static_cast<int>(first.size()) + turns[0].tokens);
  }
  if (turns[1].stop == "max_tokens") {
    CHECK(turns[1].context ==
          turns[0].context + 1 + static_cast<int>(second.size() + header.size()) + turns[1].tokens);
  }
  CHECK(turns[1].context > turns[0].context);
  // One answer line per turn on stdout.
  CHECK(std::count(run.out.begin(), run.out.end(), '\n') >= 2);
}
