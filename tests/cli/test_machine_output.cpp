// -o json (and bench's -o csv) of the `llama3` tool: the output parses and carries the documented
// fields, with values that agree with each other and with the text output.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_test_support.hpp"
#include "support/hf_test_models.hpp"

using namespace llama3::testing;

TEST_CASE("generate -o json: the completion without the prompt, tokens, reasons, usage, timings",
          "[cli][data]") {
  const auto json =
      run_json("generate " + stories_arg() + " -p 'Once upon a time' -n 12 --temp 0 -o json",
               "cli-json-generate");
  REQUIRE(json.is_object());
  for (const char* field :
       {"text", "tokens", "finish_reason", "stop_reason", "seed", "usage", "timings"}) {
    INFO(field);
    CHECK(json.contains(field));
  }
  const auto& tokens = json["tokens"];
  REQUIRE(tokens.is_array());
  CHECK(tokens.size() == 12);
  CHECK(json["finish_reason"] == "length");
  CHECK(json["stop_reason"] == "max_tokens");
  CHECK(json["usage"]["completion_tokens"] == 12);
  // The prompt's tokens as `tokenize --bos` counts them.
  const auto prompt_tokens = run_json(
      "tokenize " + stories_arg() + " --bos 'Once upon a time' -o json", "cli-json-generate");
  CHECK(json["usage"]["prompt_tokens"] == prompt_tokens["n_tokens"]);
  CHECK(json["usage"]["total_tokens"] == prompt_tokens["n_tokens"].get<int>() + 12);
  CHECK(json["timings"]["prompt_seconds"].get<double>() > 0.0);
  CHECK(json["timings"]["generation_tokens_per_second"].get<double>() > 0.0);

  // The text is exactly what the text output printed after the prompt.
  const auto text = run_tool("generate " + stories_arg() + " -p 'Once upon a time' -n 12 --temp 0",
                             "cli-json-generate");
  REQUIRE(text.exit_code == 0);
  const std::string prompt = "Once upon a time";
  REQUIRE(text.out.rfind(prompt, 0) == 0);
  CHECK(text.out == prompt + json["text"].get<std::string>() + "\n");
  CHECK(json["text"].get<std::string>().find(prompt) == std::string::npos);
}

TEST_CASE("tokenize -o json: ids, their pieces and the count", "[cli][data]") {
  const auto vocab = require_data_file("tokenizer.json");
  const auto json =
      run_json("tokenize --vocab " + quoted(vocab.string()) + " 'Hello world!' -o json",
               "cli-json-tokenize");
  CHECK(json["tokens"] == nlohmann::json::array({9906, 1917, 0}));
  CHECK(json["pieces"] == nlohmann::json::array({"Hello", " world", "!"}));
  CHECK(json["n_tokens"] == 3);
}

TEST_CASE("perplexity -o json agrees with the text output", "[cli][data]") {
  const auto text_file = require_data_file("tinystories_valid_excerpt.txt");
  const std::string arguments = "perplexity " + stories_arg() + " -f " +
                                quoted(text_file.string()) + " -c 64 --max-tokens 300";
  const auto json = run_json(arguments + " -o json", "cli-json-perplexity");
  CHECK(json["n_tokens"] == 300);
  CHECK(json["n_ctx"] == 64);
  CHECK(json["method"] == "second_half");
  CHECK(json["n_scored"].get<int>() > 0);
  const double perplexity = json["perplexity"].get<double>();
  CHECK(perplexity > 1.0);
  const auto text = run_tool(arguments, "cli-json-perplexity");
  REQUIRE(text.exit_code == 0);
  char printed[32];
  std::snprintf(printed, sizeof printed, "perplexity: %.4f", perplexity);
  CHECK(text.out.find(printed) == 0);
}

TEST_CASE("bench -o json and -o csv carry one entry per test", "[cli][data]") {
  const std::string arguments = "bench " + stories_arg() + " -p 8 -n 4 -r 2 -t 1";
  const auto json = run_json(arguments + " -o json", "cli-json-bench");
  CHECK(json["n_threads"] == 1);
  CHECK(json["repetitions"] == 2);
  CHECK(json["n_params"].get<std::uint64_t>() > 0);
  REQUIRE(json["tests"].size() == 2);
  CHECK(json["tests"][0]["test"] == "pp8");
  CHECK(json["tests"][1]["test"] == "tg4");
  for (const auto& test : json["tests"]) {
    CHECK(test["samples_tokens_per_second"].size() == 2);
    const double median = test["tokens_per_second_median"].get<double>();
    CHECK(test["tokens_per_second_min"].get<double>() <= median);
    CHECK(median <= test["tokens_per_second_max"].get<double>());
    CHECK(test["fraction_of_bound"].get<double>() ==
          Approx(median / test["bound_tokens_per_second"].get<double>()));
  }

  const auto csv = run_tool(arguments + " -o csv", "cli-json-bench");
  REQUIRE(csv.exit_code == 0);
  std::istringstream lines(csv.out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  REQUIRE(rows.size() == 3);  // header, pp, tg
  CHECK(rows[0].rfind("model,size_bytes,n_params,n_threads,test,", 0) == 0);
  const auto fields = [](const std::string& row) {
    return std::count(row.begin(), row.end(), ',');
  };
  CHECK(fields(rows[1]) == fields(rows[0]));
  CHECK(rows[1].find(",pp8,") != std::string::npos);
  CHECK(rows[2].find(",tg4,") != std::string::npos);

  const auto markdown = run_tool(arguments, "cli-json-bench");  // md is the default
  REQUIRE(markdown.exit_code == 0);
  CHECK(markdown.out.rfind("| model |", 0) == 0);
}

TEST_CASE("bench --lora times base and LoRA in every round and reports their ratio",
          "[cli][data][lora]") {
  const auto adapter = scratch_dir("cli-bench-lora-adapter") / "adapter";
  run_program("make_test_lora", "--model " +
                                    quoted(require_data_file("stories260K.gguf").string()) +
                                    " --out " + quoted(adapter.string()) + " --rank 4");
  const std::string arguments =
      "bench " + stories_arg() + " -p 8 -n 4 -r 2 -t 1 --lora " + quoted(adapter.string() + ":0.5");
  const auto json = run_json(arguments + " -o json", "cli-json-bench-lora");
  REQUIRE(json["adapters"].size() == 1);
  CHECK(json["adapters"][0]["rank"] == 4);
  CHECK(json["adapters"][0]["scale"] == 0.5);
  CHECK(json["repetitions"] == 2);
  REQUIRE(json["tests"].size() == 2);
  CHECK(json["tests"][0]["test"] == "pp8");
  CHECK(json["tests"][1]["test"] == "tg4");
  for (const auto& test : json["tests"]) {
    const auto& base = test["base"]["samples_tokens_per_second"];
    const auto& lora = test["lora"]["samples_tokens_per_second"];
    REQUIRE(base.size() == 2);
    REQUIRE(lora.size() == 2);
    REQUIRE(test["ratios"].size() == 2);
    for (std::size_t round = 0; round < 2; ++round) {  // each ratio pairs one round's two runs
      CHECK(test["ratios"][round].get<double>() ==
            Approx(lora[round].get<double>() / base[round].get<double>()));
    }
    CHECK(test["lora"]["samples_cpu_seconds_per_token"].size() == 2);
  }
  const auto markdown = run_tool(arguments, "cli-json-bench-lora");
  REQUIRE(markdown.exit_code == 0);
  CHECK(markdown.out.find("LoRA/base") != std::string::npos);
  CHECK(run_tool(arguments + " -o csv", "cli-json-bench-lora").exit_code == 2);
}

TEST_CASE("bench measures its bounds in the run unless they are given", "[cli][data]") {
  const std::string arguments = "bench " + stories_arg() + " -p 8 -n 4 -r 1 -t 1 -o json";
  const auto measured = run_json(arguments, "cli-bench-bounds");
  const auto& bounds = measured["bounds"];
  CHECK(bounds["compute"] == "fp32");  // stories260K is an F32 file
  CHECK(bounds["bandwidth_measured"] == true);
  CHECK(bounds["compute_peak_measured"] == true);
  CHECK(bounds["bandwidth_bytes_per_second"].get<double>() > 0.0);
  CHECK(bounds["compute_peak_ops_per_second"].get<double>() > 0.0);

  const auto given = run_json(arguments + " --bw 12.5 --fp32-peak 300", "cli-bench-bounds");
  CHECK(given["bounds"]["bandwidth_measured"] == false);
  CHECK(given["bounds"]["compute_peak_measured"] == false);
  CHECK(given["bounds"]["bandwidth_bytes_per_second"].get<double>() == Approx(12.5e9));
  CHECK(given["bounds"]["compute_peak_ops_per_second"].get<double>() == Approx(300e9));
  // The generation bound is bandwidth / file bytes, so it follows the given figure.
  const auto& tg = given["tests"][1];
  CHECK(tg["bound_tokens_per_second"].get<double>() ==
        Approx(12.5e9 / given["size_bytes"].get<double>()).epsilon(1e-3));
}
