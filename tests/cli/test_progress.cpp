// Progress of quantize and convert on stderr: plain lines when stderr is not a terminal (a log gets
// a line per tenth, never carriage-return frames), a bar when asked for, nothing with --progress
// none.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <string>

#include "cli/cli_test_support.hpp"
#include "support/test_models.hpp"

using namespace llama3::testing;

namespace {

int count_lines_starting(const std::string& text, const std::string& start) {
  int count = 0;
  std::size_t position = 0;
  while (position < text.size()) {
    const auto end = text.find('\n', position);
    if (text.compare(position, start.size(), start) == 0) ++count;
    if (end == std::string::npos) break;
    position = end + 1;
  }
  return count;
}

}  // namespace

TEST_CASE("quantize reports progress as lines in a log, a bar on request, or not at all", "[cli]") {
  const auto model = make_test_model("--shape tiny --type f32 --layers 4", "cli-progress.gguf");
  const auto out = scratch_dir("cli-progress-out") / "q8.gguf";
  const std::string command =
      "quantize " + quoted(model.string()) + " " + quoted(out.string()) + " q8_0 -t 1";

  const auto lines = run_tool(command, "cli-progress");  // stderr is a file here
  INFO(lines.err);
  REQUIRE(lines.exit_code == 0);
  CHECK(lines.err.find('\r') == std::string::npos);
  // 39 tensors (4 layers of 9, embedding, norm, output): one line per tenth, the last at 100%.
  const int reported = count_lines_starting(lines.err, "quantize: ");
  CHECK(reported >= 2);
  CHECK(reported <= 11);
  CHECK(std::regex_search(lines.err, std::regex(R"(quantize: 100% \((\d+)/\1\) output\.weight)")));

  const auto bar = run_tool(command + " --progress bar", "cli-progress");
  REQUIRE(bar.exit_code == 0);
  CHECK(std::count(bar.err.begin(), bar.err.end(), '\r') >= 10);  // redrawn in place per tensor
  CHECK(bar.err.find("] 100% ") != std::string::npos);
  CHECK(bar.err.back() == '\n');  // the finished bar ends its line

  const auto none = run_tool(command + " --progress none", "cli-progress");
  REQUIRE(none.exit_code == 0);
  CHECK(none.err.find("quantize:") == std::string::npos);
  CHECK(none.err.find('\r') == std::string::npos);
}

TEST_CASE("loading a large model reports progress lines through the load callback", "[cli][data]") {
  require_data_file("ggml-vocab-llama-bpe.gguf");  // make_test_model reads it
  // The real vocabulary's 128,256-row embedding and output layer in q8_0: about 67 MiB, over the
  // 64 MiB from which loading reports progress.
  const auto model = make_test_model("--vocab llama3 --type q8_0 --untied --layers 1 --seed 3",
                                     "cli-progress-load.gguf");
  const auto run =
      run_tool("generate -m " + quoted(model.string()) + " -p Hi -n 1 -t 1", "cli-progress-load");
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.err.find("loading: 100% (100/100)") != std::string::npos);
  CHECK(run.err.find('\r') == std::string::npos);
  const int reported = count_lines_starting(run.err, "loading: ");
  CHECK(reported >= 1);
  CHECK(reported <= 11);
}
