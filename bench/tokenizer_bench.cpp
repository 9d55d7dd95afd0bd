// Tokenizer benchmark: encodes a 1 MB mixed text (words in many scripts, code, numbers, white
// space; tests/tokenizer/text_generator.hpp, fixed seed) with our Llama 3 tokenizer, with
// llama3-tokenizer-js in node and with tiktoken (Meta's tokenizer.py encoding, the build's test
// venv python), all on one thread; checks they give the same ids, and prints tokens/s and MB/s side
// by side.
//   tokenizer_bench [tokenizer.json [llama3-tokenizer-js dir]]   (defaults: build/data)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "llama3/tokenizer.hpp"
#include "tokenizer/text_generator.hpp"

namespace {

constexpr int kRepeats = 5;  // best of, to keep noise from other processes out

struct Result {
  std::string name;
  double seconds = 0;
  std::size_t tokens = 0;
};

void print_row(const Result& result, std::size_t bytes, double baseline_seconds) {
  std::printf("| %-28s | %10.1f | %10.0f | %8.2f | %6.2fx |\n", result.name.c_str(),
              result.seconds * 1e3, static_cast<double>(result.tokens) / result.seconds,
              static_cast<double>(bytes) / result.seconds / 1e6, baseline_seconds / result.seconds);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string data_dir = LLAMA3_DATA_DIR;
  const std::string vocab = argc > 1 ? argv[1] : data_dir + "/tokenizer.json";
  const std::string js_dir = argc > 2 ? argv[2] : data_dir + "/llama3-tokenizer-js";

  const auto load_start = std::chrono::steady_clock::now();
  const llama3::Tokenizer tokenizer = llama3::Tokenizer::load(vocab);
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const std::string text = llama3::testing::TextGenerator(2024).corpus(1 << 20);

  Result ours{"llama3 (C++)", 1e30, 0};
  std::vector<llama3::TokenId> ids;
  for (int i = 0; i < kRepeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    ids = tokenizer.encode(text);
    ours.seconds =
        std::min(ours.seconds,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  ours.tokens = ids.size();

  std::vector<Result> results{ours};
  const std::string input = "/tmp/llama3_tokenizer_bench_input.json";
  const std::string output = "/tmp/llama3_tokenizer_bench_output.json";
  std::ofstream(input) << nlohmann::json(std::vector<std::string>(kRepeats, text)).dump();
  // A reference encoder reads INPUT.json and writes OUTPUT.json; with --time-each it prints the
  // seconds of each string (encoding only, startup excluded).
  const auto run_reference = [&](const std::string& name, const std::string& command_prefix) {
    const std::string command =
        command_prefix + " '" + input + "' '" + output + "' --time-each 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return;
    Result result{name, 1e30, 0};
    double seconds = 0;
    while (std::fscanf(pipe, "%lf", &seconds) == 1)
      result.seconds = std::min(result.seconds, seconds);
    if (pclose(pipe) != 0 || result.seconds >= 1e30) {
      std::printf("(%s not run: its runtime or package is missing)\n", name.c_str());
      return;
    }
    const auto reference_ids = nlohmann::json::parse(std::ifstream(output))
                                   .get<std::vector<std::vector<llama3::TokenId>>>();
    result.tokens = reference_ids.at(0).size();
    if (reference_ids.at(0) != ids) std::printf("WARNING: %s ids differ from ours\n", name.c_str());
    results.push_back(result);
  };
  run_reference("llama3-tokenizer-js 1.2.0", "node '" + std::string(LLAMA3_SOURCE_DIR) +
                                                 "/tests/tokenizer/js_reference_encode.cjs' '" +
                                                 js_dir + "'");
  run_reference("tiktoken (Meta's encoding)",
                "'" + std::string(LLAMA3_PYTHON) + "' '" + std::string(LLAMA3_SOURCE_DIR) +
                    "/tests/tokenizer/tiktoken_reference.py' '" + vocab + "'");

  std::printf(
      "Encoding %zu bytes of mixed text (%zu tokens), best of %d; vocabulary loaded in %.0f ms\n\n",
      text.size(), ids.size(), kRepeats, load_seconds * 1e3);
  std::printf("| %-28s | %10s | %10s | %8s | %7s |\n", "encoder", "ms", "tokens/s", "MB/s",
              "speed");
  std::printf("|------------------------------|------------|------------|----------|---------|\n");
  const double baseline = results.back().seconds;
  for (const auto& result : results) print_row(result, text.size(), baseline);
  return 0;
}
