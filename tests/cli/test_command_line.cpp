// The `llama3` tool's command-line contract: unknown options and bad or out-of-range values are
// usage errors (exit 2, nothing done, a hint or the limit named); every command's --help exits 0
// and describes every option.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_test_support.hpp"

using namespace llama3::testing;

namespace {

constexpr const char* kCommands[] = {"generate", "chat",      "perplexity", "eval-logits",
                                     "bench",    "tokenize",  "detokenize", "quantize",
                                     "convert",  "scan-code", "guard",      "version"};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("llama3 rejects unknown options with exit 2 and a did-you-mean hint", "[cli][data]") {
  const std::string model = stories_arg();
  SECTION("a misspelled option names the option meant") {
    const auto run = run_usage_error("generate " + model + " --temprature 1", "cli-unknown-1");
    CHECK(contains(run.err, "unknown option --temprature"));
    CHECK(contains(run.err, "did you mean --temp?"));
  }
  SECTION("a prefix of an option, and another command's spelling") {
    CHECK(contains(run_usage_error("generate " + model + " --thread 2", "cli-unknown-2").err,
                   "did you mean --threads?"));
    CHECK(contains(run_usage_error("generate " + model + " --json", "cli-unknown-3").err,
                   "did you mean -o json?"));
  }
  SECTION("an unknown short option is not taken as an option with a value") {
    const auto run = run_usage_error("generate " + model + " -x 3", "cli-unknown-4");
    CHECK(contains(run.err, "unknown option -x"));
    CHECK_FALSE(contains(run.err, "did you mean"));  // no letter is "close" to another
  }
  SECTION("a stray positional argument") {
    CHECK(contains(run_usage_error("generate " + model + " hello", "cli-unknown-5").err,
                   "unexpected argument 'hello'"));
  }
  SECTION("a missing value, and one option with the other it excludes") {
    CHECK(
        contains(run_usage_error("generate " + model + " --stop", "cli-unknown-6").err, "--stop"));
    CHECK(contains(run_usage_error("generate " + model + " -p a -f b", "cli-unknown-7").err,
                   "excludes"));
  }
  SECTION("every command checks its options the same way") {
    for (const char* command : kCommands) {
      INFO(command);
      const auto run = run_tool(std::string(command) + " --bogus-option", "cli-unknown-8");
      tally_bad_arguments(run);
      CHECK(run.exit_code == 2);
      CHECK(contains(run.err, "--bogus-option"));
    }
  }
}

TEST_CASE("llama3 rejects an unknown command with exit 2 and names the one meant", "[cli]") {
  const auto run = run_usage_error("genrate", "cli-command");
  CHECK(contains(run.err, "unknown command 'genrate'"));
  CHECK(contains(run.err, "did you mean generate?"));
  CHECK(run_tool("", "cli-command").exit_code == 2);
  CHECK(run_tool("--help", "cli-command").exit_code == 0);
}

TEST_CASE("values out of range are exit-2 errors that name the limit", "[cli][data]") {
  const std::string model = stories_arg();
  struct Case {
    std::string arguments;
    std::string message;  // part of the error, naming the limit
  };
  const std::vector<Case> cases = {
      {"generate " + model + " -p Once -n -5", "[-1, 2147483647]"},
      {"generate " + model + " --temp -1", "must be >= 0"},
      {"generate " + model + " --temp nan", "'nan' is not a finite number"},
      {"generate " + model + " --top-k -5", "[0, 2147483647]"},
      {"generate " + model + " --top-p 1.5", "[0, 1]"},
      {"generate " + model + " --repeat-penalty 0", "must be above 0"},
      {"generate " + model + " --frequency-penalty inf", "not a finite number"},
      {"generate " + model + " -s -2", "[0, 18446744073709551615]"},
      {"generate " + model + " --seed 18446744073709551616", "[0, 18446744073709551615]"},
      {"generate " + model + " --threads -1", "[0, 2147483647]"},
      {"generate " + model + " -c abc", "'abc' is not an integer"},
      {"bench " + model + " -p -1", "[0, 131072]"},
      {"bench " + model + " -p 100000000", "[0, 131072]"},
      {"bench " + model + " -d 99999999", "[0, 131072]"},
      {"bench " + model + " -d 131072 -p 8", "131072, the longest Llama 3 context"},
      // stories260K was trained on 2048 tokens: depth + the default 512-token prompt is past it.
      {"bench " + model + " -d 2000", "trained context of 2048"},
      {"bench " + model + " -r 0", "[1, 1000]"},
      {"bench " + model + " --bw -5", "must be above 0"},
      {"bench " + model + " -o xml", "not one of md, json, csv"},
      {"perplexity " + model + " -f x.txt --max-tokens -1", "[0, 2147483647]"},
      {"chat " + model + " --min-p 2", "[0, 1]"},
      {"guard -m x.gguf --prompt hi --threshold 1.5", "[0, 1]"},
      {"quantize in.gguf out.gguf q4_k --progress sometimes", "not one of auto, bar, lines, none"},
      {"eval-logits " + model + " --tokens '1 2 x' -o out.f32", "'x' is not a token id"},
  };
  for (const auto& test : cases) {
    const auto run = run_usage_error(test.arguments, "cli-range");
    INFO(test.arguments << "\n" << run.err);
    CHECK(contains(run.err, test.message));
    CHECK(contains(run.err, "--help"));
  }
}

TEST_CASE("llama3: every command's --help exits 0 and describes every option", "[cli]") {
  for (const char* command : kCommands) {
    const auto run = run_tool(std::string(command) + " --help", "cli-help");
    INFO(command << "\n" << run.out << run.err);
    CHECK(run.exit_code == 0);
    CHECK(contains(run.out, std::string("Usage: llama3 ") + command));
    // An option line is "  -x,--name TYPE   description"; a long left column puts the
    // description on the next line, indented to the description column.
    constexpr std::size_t kDescriptionColumn = 30;
    std::istringstream lines(run.out);
    std::vector<std::string> all;
    for (std::string line; std::getline(lines, line);) all.push_back(line);
    int options = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i].rfind("  -", 0) != 0) continue;
      ++options;
      const bool same_line = all[i].size() > kDescriptionColumn &&
                             all[i][kDescriptionColumn - 1] == ' ' &&
                             all[i][kDescriptionColumn] != ' ';
      const bool next_line = i + 1 < all.size() &&
                             all[i + 1].rfind(std::string(kDescriptionColumn, ' '), 0) == 0 &&
                             all[i + 1].size() > kDescriptionColumn;
      INFO(all[i]);
      CHECK((same_line || next_line));
    }
    CHECK(options >= 1);  // at least -h,--help
  }
}

TEST_CASE("docs/cli.md has a section per command and names every option of its --help", "[cli]") {
  std::ifstream file(std::string(LLAMA3_SOURCE_DIR) + "/docs/cli.md");
  REQUIRE(file);
  const std::string docs((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const std::regex option_name(R"((^|[ ,])(--?[a-z][a-z0-9-]*))");
  for (const char* command : kCommands) {
    INFO(command);
    const std::regex heading("\n## [^\n]*\\b" + std::string(command) + "\\b");
    CHECK(std::regex_search(docs, heading));
    const auto run = run_tool(std::string(command) + " --help", "cli-docs");
    std::istringstream lines(run.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("  -", 0) != 0) continue;
      // The names column: "-c,--ctx-size,--ctx INT".
      const std::string names = line.substr(0, line.find(' ', 2));
      for (std::sregex_iterator it(names.begin(), names.end(), option_name), end; it != end; ++it) {
        const std::string name = (*it)[2];
        INFO(name);
        // The whole name: "--top-k" must not be found inside "--top-k-extra".
        CHECK(std::regex_search(docs, std::regex("(^|[^a-z0-9-])" + name + "([^a-z0-9-]|$)")));
      }
    }
  }
}
