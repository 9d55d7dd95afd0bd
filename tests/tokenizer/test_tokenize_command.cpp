// `llama3 tokenize` / `llama3 detokenize`: one line of ids, and back to the text.
#include <catch2/catch.hpp>
#include <cstdio>

#include "support/test_data.hpp"

namespace {
std::string run(const std::string& arguments) {
  const std::string command = (llama3::testing::bin_dir() / "llama3").string() + " " + arguments;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    output.append(buffer, n);
  CHECK(pclose(pipe) == 0);
  return output;
}
}  // namespace

TEST_CASE("llama3 tokenize and detokenize round trip", "[tokenizer][data]") {
  const auto vocab = llama3::testing::require_data_file("tokenizer.json").string();
  CHECK(run("tokenize --vocab '" + vocab + "' 'Hello world!'") == "9906 1917 0\n");
  CHECK(run("tokenize --vocab '" + vocab + "' --bos --special '<|eot_id|>Hi'") ==
        "128000 128009 13347\n");
  CHECK(run("detokenize --vocab '" + vocab + "' 9906 1917 0") == "Hello world!\n");
  CHECK(run("detokenize --vocab '" + vocab + "' --special 128000 9906") ==
        "<|begin_of_text|>Hello\n");
  const auto gguf = llama3::testing::require_data_file("ggml-vocab-llama-bpe.gguf").string();
  CHECK(run("tokenize -m '" + gguf + "' ' Hello world'") == "22691 1917\n");
}
