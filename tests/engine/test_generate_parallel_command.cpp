// llama3 generate --parallel N -f FILE: every line's answer equals what `llama3 generate -p LINE`
// prints for it alone.
#include <catch2/catch.hpp>

#include <fstream>

#include "support/run_tool.hpp"

using namespace llama3::testing;

TEST_CASE("generate --parallel answers each prompt line as a lone generate does", "[engine]") {
  const std::string model = require_data_file("stories260K.gguf").string();
  const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Lily and Tom",
                                            "One day"};
  const auto file = scratch_dir("generate-parallel-prompts") / "prompts.txt";
  {
    std::ofstream out(file);
    for (const auto& prompt : prompts) out << prompt << "\n\n";  // blank lines are skipped
  }
  const std::string common = "-m " + model + " -n 12 --temp 0.8 --seed 5 --threads 2";
  const ToolRun together =
      run_tool("generate " + common + " --parallel 3 -f " + file.string(), "generate-parallel");
  REQUIRE(together.exit_code == 0);
  std::string expected;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const ToolRun alone =
        run_tool("generate " + common + " -p '" + prompts[i] + "'", "generate-parallel-alone");
    REQUIRE(alone.exit_code == 0);
    expected.append("[").append(std::to_string(i + 1)).append("] ").append(alone.out);
  }
  CHECK(together.out == expected);

  const ToolRun without_file =
      run_tool("generate " + common + " --parallel 2", "generate-parallel");
  CHECK(without_file.exit_code == 2);  // a usage error, before any work
  CHECK(without_file.err.find("--parallel requires --file") != std::string::npos);
}

TEST_CASE("generate --parallel --draft gives the greedy answers and reports the drafts",
          "[engine]") {
  const std::string model = require_data_file("stories260K.gguf").string();
  const auto file = scratch_dir("generate-parallel-draft-prompts") / "prompts.txt";
  {
    std::ofstream out(file);
    out << "Once upon a time\nTom had a dog\nThe sun was\n";
  }
  const std::string common =
      "generate -m " + model + " -n 24 --temp 0 --threads 2 --parallel 2 -f " + file.string();
  const ToolRun plain = run_tool(common, "generate-parallel-draft");
  // The model drafting for itself: every draft agrees.
  const ToolRun drafting =
      run_tool(common + " --draft " + model + " --draft-max 4", "generate-parallel-draft");
  REQUIRE(plain.exit_code == 0);
  REQUIRE(drafting.exit_code == 0);
  CHECK(drafting.out == plain.out);
  CHECK(plain.err.find("speculative:") == std::string::npos);
  const auto at = drafting.err.find("speculative: ");
  REQUIRE(at != std::string::npos);
  CHECK(drafting.err.find(" 0 drafted", at) == std::string::npos);
}
