// llama.cpp's spellings reach the same settings as ours, no option is silently ignored, and the
// warnings for --threads beyond the machine and a context beyond the trained one.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "cli/cli_test_support.hpp"
#include "support/test_models.hpp"

using namespace llama3::testing;

namespace {

nlohmann::json generate_json(const std::string& options, const std::string& scratch) {
  return run_json("generate " + stories_arg() + " -p 'Once upon a time' " + options + " -o json",
                  scratch);
}

}  // namespace

TEST_CASE("generate: -n/--n-predict, --temp/--temperature and -s/--seed set the same values",
          "[cli][data]") {
  const auto ours = generate_json("-n 20 --temp 1.0 -s 7", "cli-alias-sampling");
  const auto theirs =
      generate_json("--n-predict 20 --temperature 1.0 --seed 7", "cli-alias-sampling");
  CHECK(ours["tokens"].size() == 20);
  CHECK(ours["tokens"] == theirs["tokens"]);
  CHECK(ours["seed"] == 7);
  // The options are used, not ignored: another seed or temperature gives other tokens.
  CHECK(generate_json("-n 20 --temp 1.0 -s 8", "cli-alias-sampling")["tokens"] != ours["tokens"]);
  CHECK(generate_json("-n 20 --temp 0 -s 7", "cli-alias-sampling")["tokens"] != ours["tokens"]);
  // A repeated option: the last value wins, as in llama.cpp.
  CHECK(generate_json("-n 5 --n-predict 20 --temp 1.0 -s 7", "cli-alias-sampling")["tokens"] ==
        ours["tokens"]);
}

TEST_CASE("generate: -s -1 draws a random seed and reports it, that seed repeats the output",
          "[cli][data]") {
  const auto random = run_tool(
      "generate " + stories_arg() + " -p Once -n 16 --temp 1 -s -1 -o json", "cli-alias-seed");
  REQUIRE(random.exit_code == 0);
  const auto json = nlohmann::json::parse(random.out);
  const auto seed = json["seed"].get<std::uint64_t>();
  CHECK(random.err.find("seed: " + std::to_string(seed)) != std::string::npos);
  const auto again = run_json("generate " + stories_arg() + " -p Once -n 16 --temp 1 -s " +
                                  std::to_string(seed) + " -o json",
                              "cli-alias-seed");
  CHECK(again["tokens"] == json["tokens"]);
}

TEST_CASE("generate: -c, --ctx-size and --ctx set the context, -f/--file reads the prompt",
          "[cli][data]") {
  const std::string long_prompt = "-p 'Once upon a time there was a little girl'";
  for (const char* spelling : {"-c 4", "--ctx-size 4", "--ctx 4"}) {
    INFO(spelling);
    const auto run = run_tool("generate " + stories_arg() + " " + long_prompt + " " + spelling,
                              "cli-alias-context");
    CHECK(run.exit_code == 1);
    CHECK(run.err.find("more than the context of 4") != std::string::npos);
    CHECK(run.out.empty());  // the prompt is checked before it is printed
  }
  const auto dir = scratch_dir("cli-alias-file");
  std::ofstream(dir / "prompt.txt") << "Once upon a time";
  const auto direct = generate_json("-n 8 --temp 0", "cli-alias-file-run");
  for (const char* spelling : {"-f ", "--file "}) {
    const auto from_file =
        run_json("generate " + stories_arg() + " " + spelling +
                     quoted((dir / "prompt.txt").string()) + " -n 8 --temp 0 -o json",
                 "cli-alias-file-run");
    CHECK(from_file["tokens"] == direct["tokens"]);
  }
}

TEST_CASE("generate: -n -1 generates until the context is full", "[cli][data]") {
  const auto json = generate_json("-n -1 -c 24 --temp 0", "cli-alias-unlimited");
  // The last token is sampled from the full context but never fed back: 24 + 1 tokens in all.
  const int total = json["usage"]["total_tokens"].get<int>();
  if (json["stop_reason"] == "end_of_generation") {
    CHECK(total <= 25);
  } else {
    CHECK(json["stop_reason"] == "context_full");
    CHECK(total == 25);
  }
}

TEST_CASE("generate: --context-shift goes on past a full context and --keep needs it",
          "[cli][data]") {
  const auto shifted =
      generate_json("-n 60 -c 24 --temp 0 --context-shift --keep 2", "cli-alias-shift");
  CHECK(shifted["tokens"].size() == 60);  // more than the context holds
  CHECK(shifted["stop_reason"] == "max_tokens");
  // Until the context first fills, the shifted run is the plain one.
  const auto plain = generate_json("-n 60 -c 24 --temp 0", "cli-alias-shift");
  CHECK(plain["stop_reason"] == "context_full");
  const auto& head = plain["tokens"];
  REQUIRE(head.size() <= shifted["tokens"].size());
  for (std::size_t i = 0; i + 1 < head.size(); ++i) CHECK(shifted["tokens"][i] == head[i]);
  const auto lone_keep =
      run_tool("generate " + stories_arg() + " -p Once -n 4 --keep 2", "cli-alias-shift");
  CHECK(lone_keep.exit_code == 2);
  CHECK(lone_keep.err.find("--context-shift") != std::string::npos);
}

TEST_CASE("generate: --stop is repeatable and the earliest match cuts the text", "[cli][data]") {
  const auto full = generate_json("-n 40 --temp 0", "cli-alias-stop");
  const std::string text = full["text"].get<std::string>();
  // Two words of the greedy text: the later given first, so it is not the first --stop that wins.
  const auto early = text.find(' ', 8);
  const auto late = text.find(' ', text.size() / 2);
  REQUIRE(early != std::string::npos);
  REQUIRE(late != std::string::npos);
  const std::string early_word = text.substr(early, text.find(' ', early + 1) - early);
  const std::string late_word = text.substr(late, text.find(' ', late + 1) - late);
  REQUIRE(text.find(early_word) == early);
  REQUIRE(text.find(late_word) > early);
  const auto stopped =
      generate_json("-n 40 --temp 0 --stop " + quoted(late_word) + " --stop " + quoted(early_word),
                    "cli-alias-stop");
  CHECK(stopped["stop_reason"] == "stop_string");
  CHECK(stopped["finish_reason"] == "stop");
  CHECK(stopped["text"] == text.substr(0, early));
}

TEST_CASE("generate: the penalty options change greedy output", "[cli][data]") {
  const auto plain = generate_json("-n 48 --temp 0", "cli-alias-penalty");
  for (const char* penalty :
       {"--repeat-penalty 1.5", "--frequency-penalty 1.5", "--presence-penalty 1.5"}) {
    INFO(penalty);
    CHECK(generate_json(std::string("-n 48 --temp 0 ") + penalty, "cli-alias-penalty")["tokens"] !=
          plain["tokens"]);
  }
}

TEST_CASE("chat: -sys, --system-prompt and --system give the same system message", "[cli][data]") {
  require_data_file("ggml-vocab-llama-bpe.gguf");  // make_test_model reads it
  const auto model = make_test_model("--vocab llama3 --type q8_0 --tied --layers 1 --seed 11",
                                     "cli-alias-chat.gguf");
  std::string first;
  for (const char* spelling : {"-sys", "--system-prompt", "--system"}) {
    INFO(spelling);
    const auto run = run_tool(
        "chat -m " + quoted(model.string()) + " -n 3 --temp 0 -t 1 " + spelling + " 'Be brief.'",
        "cli-alias-chat", "Hello\n");
    REQUIRE(run.exit_code == 0);
    const auto status = run.err.substr(run.err.find("[turn 1:"));
    if (first.empty()) first = status;
    CHECK(status == first);
  }
  // Without a system message the first turn's context is shorter.
  const auto without = run_tool("chat -m " + quoted(model.string()) + " -n 3 --temp 0 -t 1",
                                "cli-alias-chat", "Hello\n");
  REQUIRE(without.exit_code == 0);
  CHECK(without.err.substr(without.err.find("[turn 1:")) != first);
}

TEST_CASE("generate: --threads beyond the machine is clamped and a long context warns",
          "[cli][data]") {
  for (const char* spelling : {"-t 100000", "--threads 100000"}) {
    const auto run =
        run_tool("generate " + stories_arg() + " -p Once -n 2 " + spelling, "cli-warn");
    INFO(run.err);
    CHECK(run.exit_code == 0);
    CHECK(run.err.find("warning: --threads 100000 is more than the") != std::string::npos);
  }
  const auto run = run_tool("generate " + stories_arg() + " -p Once -n 2 -c 4096", "cli-warn");
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("beyond the 2048 the model was trained for") != std::string::npos);
  const auto within = run_tool("generate " + stories_arg() + " -p Once -n 2 -c 2048", "cli-warn");
  CHECK(within.err.find("warning") == std::string::npos);
}

TEST_CASE(
    "generate: --cache-type-k/-v (-ctk/-ctv) q8_0 and bf16 tell stories260K's greedy story and "
    "refuse K and V types that differ",
    "[cli][data]") {
  const auto f16 = generate_json("-n 24 --temp 0", "cli-alias-cache-type");
  const auto q8 = generate_json("-n 24 --temp 0 --cache-type-k q8_0 --cache-type-v q8_0",
                                "cli-alias-cache-type");
  const auto short_spelling =
      generate_json("-n 24 --temp 0 -ctk q8_0 -ctv q8_0", "cli-alias-cache-type");
  const auto bf16 = generate_json("-n 24 --temp 0 -ctk bf16 -ctv bf16", "cli-alias-cache-type");
  CHECK(q8["tokens"] == f16["tokens"]);
  CHECK(short_spelling["tokens"] == f16["tokens"]);
  CHECK(bf16["tokens"] == f16["tokens"]);
  const auto mixed = run_usage_error(
      "generate " + stories_arg() + " -p Once -n 4 --cache-type-k q8_0", "cli-alias-cache-type");
  CHECK(mixed.err.find("--cache-type-k q8_0 and --cache-type-v f16 differ") != std::string::npos);
  CHECK(run_usage_error("generate " + stories_arg() + " -p Once -n 4 -ctk q4_0 -ctv q4_0",
                        "cli-alias-cache-type")
            .exit_code != 0);
}
