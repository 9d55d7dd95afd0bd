// Differential tests: our encoder against two references on 20,000+ generated strings and three 1
// MB texts, every id list identical:
// - the independent JavaScript encoder llama3-tokenizer-js@1.2.0 (node,
//   tests/tokenizer/js_reference_encode.cjs);
// - tiktoken, the library Meta's own tokenizer.py runs, with the Encoding built as tokenizer.py
//   builds it (tests/tokenizer/tiktoken_reference.py, run with the test venv's python).
// All strings go to one reference process as a JSON batch.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "tokenizer/llama3_vocab.hpp"
#include "tokenizer/text_generator.hpp"

using llama3::TokenId;
namespace testing = llama3::testing;

namespace {

// Random code points are drawn from those where both encoders follow the reference semantics. Left
// out, each with a test of its own in test_llama3_pre_tokenizer.cpp that shows the reference
// behaviour:
// - code points unassigned in the Unicode version of our tables (Debian's unicode-data, 15.0):
// node's
//   ICU is newer and knows letters there (e.g. CJK Extension J, Unicode 17);
// - U+0085 and U+FEFF: JavaScript's \s lacks U+0085 and has U+FEFF, while \s in the reference
// engines
//   (Rust regex under tiktoken, Python regex, Oniguruma) is the White_Space property: the opposite;
// - U+017F LONG S: (?i:'s) matches "'ſ" under Unicode case folding; the JS port's [sS] does not.
bool differs_by_design(std::uint32_t cp) {
  return cp == 0x85 || cp == 0xFEFF || cp == 0x17F;
}

std::vector<bool> assigned_code_points() {
  std::vector<bool> assigned(0x110000, false);
  std::ifstream in("/usr/share/unicode/UnicodeData.txt");
  if (!in) {
    std::fprintf(stderr, "SKIPPED: /usr/share/unicode/UnicodeData.txt (unicode-data) is missing\n");
    std::exit(77);
  }
  std::string line;
  std::uint32_t range_first = 0;
  while (std::getline(in, line)) {
    const auto cp =
        static_cast<std::uint32_t>(std::stoul(line.substr(0, line.find(';')), nullptr, 16));
    if (line.find(", First>") != std::string::npos) {
      range_first = cp;
    } else if (line.find(", Last>") != std::string::npos) {
      for (std::uint32_t c = range_first; c <= cp; ++c) assigned[c] = true;
    } else {
      assigned[cp] = true;
    }
  }
  return assigned;
}

// Runs a reference encoder that reads INPUT.json (array of strings) and writes OUTPUT.json (array
// of id arrays); `command_prefix` is the command line before those two paths.
std::vector<std::vector<TokenId>> encode_with_reference(const std::string& command_prefix,
                                                        const std::vector<std::string>& texts,
                                                        const std::filesystem::path& scratch) {
  const auto input = scratch / "input.json";
  const auto output = scratch / "output.json";
  std::ofstream(input) << nlohmann::json(texts).dump();
  const std::string command =
      command_prefix + " '" + input.string() + "' '" + output.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(output);
  return nlohmann::json::parse(in).get<std::vector<std::vector<TokenId>>>();
}

// 20,000 short strings and three 1 MB texts of code points for which `keep` is true.
std::vector<std::string> generated_texts(std::uint64_t seed,
                                         const std::function<bool(std::uint32_t)>& keep) {
  testing::TextGenerator generator(seed, keep);
  std::mt19937_64 sizes(seed ^ 0x5EED);
  std::vector<std::string> texts;
  for (int i = 0; i < 20000; ++i)
    texts.push_back(generator.text(1 + static_cast<int>(sizes() % 24)));
  for (int i = 0; i < 3; ++i) texts.push_back(generator.corpus(1 << 20));
  return texts;
}

std::uint64_t test_seed() {
  const char* seed_text = std::getenv("LLAMA3_TEST_SEED");  // to replay a failure
  const std::uint64_t seed =
      seed_text ? std::strtoull(seed_text, nullptr, 10) : std::random_device{}();
  std::printf("differential test seed: %llu\n", static_cast<unsigned long long>(seed));
  return seed;
}

std::size_t count_mismatches(const std::vector<std::string>& texts,
                             const std::vector<std::vector<TokenId>>& expected, std::uint64_t seed,
                             const char* reference_name) {
  const auto& tok = testing::llama3_tokenizer();
  REQUIRE(expected.size() == texts.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto ours = tok.encode(texts[i]);
    if (ours == expected[i]) continue;
    if (++mismatches <= 10) {
      UNSCOPED_INFO("string " << i << " (seed " << seed << "): " << nlohmann::json(texts[i]).dump()
                              << "\n  ours: " << nlohmann::json(ours).dump() << "\n  "
                              << reference_name << ": " << nlohmann::json(expected[i]).dump());
    }
  }
  return mismatches;
}

}  // namespace

TEST_CASE("our encoder agrees with llama3-tokenizer-js on 20,000 generated strings and 1 MB texts",
          "[tokenizer][data][differential]") {
  const auto package_dir =
      testing::require_data_file(
          "llama3-tokenizer-js/bundle/commonjs-llama3-tokenizer-with-baked-data.cjs")
          .parent_path()
          .parent_path();
  if (std::system("node --version > /dev/null 2>&1") != 0) {
    std::fprintf(stderr, "SKIPPED: node is not installed\n");
    std::exit(77);
  }
  testing::llama3_tokenizer();  // skips before the work when tokenizer.json is missing
  const std::uint64_t seed = test_seed();
  const auto assigned = assigned_code_points();
  const auto texts = generated_texts(
      seed, [&](std::uint32_t cp) { return assigned[cp] && !differs_by_design(cp); });
  const std::string command = "node '" + std::string(LLAMA3_SOURCE_DIR) +
                              "/tests/tokenizer/js_reference_encode.cjs' '" + package_dir.string() +
                              "'";
  const auto expected = encode_with_reference(command, texts, testing::scratch_dir("differential"));
  CHECK(count_mismatches(texts, expected, seed, "js") == 0);
}

// tiktoken's split pattern runs on Rust's fancy-regex, whose \s and case folding follow Unicode, so
// the code points the JavaScript port gets wrong stay in here; only code points unassigned in our
// Unicode tables are left out (a newer Unicode in Rust's tables may know letters there).
TEST_CASE("our encoder agrees with tiktoken (Meta's tokenizer.py) on 20,000 strings and 1 MB texts",
          "[tokenizer][data][differential][tiktoken]") {
  const auto vocab = testing::require_data_file("tokenizer.json");
  const std::string python = testing::test_python();
  if (std::system(("'" + python + "' -c 'import tiktoken' > /dev/null 2>&1").c_str()) != 0) {
    std::fprintf(stderr,
                 "SKIPPED: %s cannot import tiktoken (bash scripts/python-env.sh installs it)\n",
                 python.c_str());
    std::exit(77);
  }
  testing::llama3_tokenizer();
  const std::uint64_t seed = test_seed();
  const auto assigned = assigned_code_points();
  auto texts = generated_texts(seed, [&](std::uint32_t cp) { return assigned[cp]; });
  // The cases the JavaScript port gets wrong, spelled out so they are always in the batch.
  texts.insert(texts.end(), {"a\u0085b \u0085\u0085\n x", "\uFEFFword \uFEFF1", "it'\u017F 'S 'ſ",
                             "x\u00A0\u00A0y \u3000\u3000z\u2028"});
  const std::string command = "'" + python + "' '" + std::string(LLAMA3_SOURCE_DIR) +
                              "/tests/tokenizer/tiktoken_reference.py' '" + vocab.string() + "'";
  const auto expected =
      encode_with_reference(command, texts, testing::scratch_dir("differential_tiktoken"));
  CHECK(count_mismatches(texts, expected, seed, "tiktoken") == 0);
}
