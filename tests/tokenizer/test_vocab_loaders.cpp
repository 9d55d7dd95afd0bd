// The vocabulary loaders: tokenizer.model derived from tokenizer.json is Meta's file byte for byte
// and loads into the same tokenizer; malformed files give errors that name the file and the field
// or line.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "io/gguf.hpp"
#include "io/gguf_copy.hpp"
#include "llama3/error.hpp"
#include "support/base64.hpp"
#include "support/hostile_input.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/llama3_vocab.hpp"
#include "tokenizer/text_generator.hpp"

using namespace llama3;
namespace testing = llama3::testing;

namespace {

std::string sha256_of(const std::filesystem::path& path) {
  const std::string command = "sha256sum '" + path.string() + "' 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return {};
  char hex[65] = {};
  const bool ok = std::fread(hex, 1, 64, pipe) == 64;
  pclose(pipe);
  return ok ? std::string(hex, 64) : std::string();
}

std::filesystem::path write_file(const std::string& name, const std::string& content) {
  const auto path = testing::scratch_dir("vocab-loaders-" + name) / name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

template <typename F>
std::string error_of(F&& load, ErrorCode expected_code) {
  try {
    testing::hostile_input("tokenizer_files", load);
  } catch (const Error& error) {
    CHECK(error.code() == expected_code);
    return error.what();
  }
  FAIL("no error thrown");
  return {};
}

}  // namespace

TEST_CASE("tokenizer.model derived from tokenizer.json is Meta's file and loads identically",
          "[tokenizer][data]") {
  const auto& from_json = testing::llama3_tokenizer();
  std::string model;
  for (TokenId id = 0; id < 128000; ++id) {
    model += testing::base64(from_json.piece(id)) + " " + std::to_string(id) + "\n";
  }
  CHECK(model.size() == 2183982);
  const auto path = write_file("tokenizer.model", model);
  const std::string sha = sha256_of(path);
  if (!sha.empty())
    CHECK(sha == "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55");

  const Tokenizer from_model = Tokenizer::load(path);
  REQUIRE(from_model.vocab_size() == from_json.vocab_size());
  for (TokenId id = 0; id < 128000; ++id) {
    REQUIRE(from_model.piece(id) == from_json.piece(id));
    REQUIRE(from_model.kind(id) == TokenKind::kNormal);
  }
  for (TokenId id = 128000; id < 128256; ++id) REQUIRE(from_model.kind(id) == TokenKind::kControl);
  CHECK(from_model.bos_id() == from_json.bos_id());
  CHECK(from_model.eos_id() == from_json.eos_id());
  CHECK(from_model.add_bos_by_default() == from_json.add_bos_by_default());
  // Special names: the tiktoken loader uses the 3.1 names, this tokenizer.json the 3.0 ones.
  CHECK(from_model.find("<|eom_id|>") == 128008);
  CHECK(from_model.find("<|python_tag|>") == 128010);
  CHECK(from_model.find("<|finetune_right_pad_id|>") == 128004);
  CHECK(from_model.find("<|reserved_special_token_247|>") == 128255);
  CHECK(from_model.end_of_generation_ids() == std::vector<TokenId>{128001, 128008, 128009});

  testing::TextGenerator generator(99);
  const std::string text = generator.corpus(300000);
  CHECK(from_model.encode(text) == from_json.encode(text));
  const std::string specials =
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>x<|eot_id|>";
  CHECK(from_model.encode(specials, {.parse_special = true}) ==
        from_json.encode(specials, {.parse_special = true}));
}

TEST_CASE("malformed tokenizer.model files name the file and line", "[tokenizer]") {
  const auto bad_base64 = write_file("bad.model", "IQ== 0\n!!!! 1\n");
  CHECK_THAT(error_of([&] { Tokenizer::load(bad_base64); }, ErrorCode::kBadFormat),
             Catch::Contains("bad.model") && Catch::Contains("line 2"));
  const auto gap = write_file("gap.model", "IQ== 0\nIg== 2\n");
  CHECK_THAT(error_of([&] { Tokenizer::load(gap); }, ErrorCode::kBadFormat),
             Catch::Contains("rank 1"));
  const auto few_bytes = write_file("few.model", "IQ== 0\nIg== 1\n");
  CHECK_THAT(error_of([&] { Tokenizer::load(few_bytes); }, ErrorCode::kBadFormat),
             Catch::Contains("single byte"));
  CHECK(error_of([&] { Tokenizer::load("/nonexistent/tokenizer.model"); }, ErrorCode::kIo) != "");
}

TEST_CASE("malformed tokenizer.json files name the file and field", "[tokenizer]") {
  const auto not_json = write_file("broken.json", "{\"model\": ");
  CHECK_THAT(error_of([&] { Tokenizer::load(not_json); }, ErrorCode::kBadFormat),
             Catch::Contains("broken.json"));
  const auto no_vocab = write_file("novocab.json", R"({"model": {"type": "BPE"}})");
  CHECK_THAT(error_of([&] { Tokenizer::load(no_vocab); }, ErrorCode::kBadFormat),
             Catch::Contains("model.vocab"));
  const auto unigram = write_file("unigram.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  CHECK_THAT(error_of([&] { Tokenizer::load(unigram); }, ErrorCode::kUnsupported),
             Catch::Contains("Unigram"));
  const auto gpt2_split = write_file(
      "gpt2.json",
      R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Sequence",
          "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+"}}]}})");
  CHECK_THAT(error_of([&] { Tokenizer::load(gpt2_split); }, ErrorCode::kUnsupported),
             Catch::Contains("split pattern"));
  const auto bad_text = write_file(
      "badtext.json", R"({"model": {"type": "BPE", "vocab": {"\u4e2d": 0}, "merges": []}})");
  CHECK_THAT(error_of([&] { Tokenizer::load(bad_text); }, ErrorCode::kBadFormat),
             Catch::Contains("byte-level"));
  const auto hole =
      write_file("hole.json", R"({"model": {"type": "BPE", "vocab": {"a": 1}, "merges": []}})");
  CHECK_THAT(error_of([&] { Tokenizer::load(hole); }, ErrorCode::kBadFormat),
             Catch::Contains("id 0"));
}

TEST_CASE("a tokenizer.json whose merges are not the id order is refused", "[tokenizer]") {
  // Every byte (id = byte value, in byte-level spelling), then "ab" (256) and "bc" (257): ids as
  // ranks merge "ab" first in "abc".
  auto vocab_with = [](const std::string& merges_field) {
    nlohmann::json vocab = nlohmann::json::object();
    for (int byte = 0; byte < 256; ++byte) {
      vocab[detail::byte_level_encode(std::string(1, static_cast<char>(byte)))] = byte;
    }
    vocab["ab"] = 256;
    vocab["bc"] = 257;
    return R"({"model": {"type": "BPE", )" + merges_field + R"("vocab": )" + vocab.dump() + "}}";
  };
  const auto in_order = write_file("in-order.json", vocab_with(R"("merges": ["a b", "b c"], )"));
  CHECK(Tokenizer::load(in_order).encode("abc", {false, false, false}) ==
        std::vector<TokenId>{256, 'c'});

  const auto missing = write_file("no-merges.json", vocab_with(""));
  CHECK_THAT(error_of([&] { Tokenizer::load(missing); }, ErrorCode::kBadFormat),
             Catch::Contains("model.merges is missing"));
  // HF would merge "b c" first in "abc" and give [a, bc]; ids as ranks give [ab, c].
  const auto reversed = write_file("reversed.json", vocab_with(R"("merges": ["b c", "a b"], )"));
  CHECK_THAT(error_of([&] { Tokenizer::load(reversed); }, ErrorCode::kUnsupported),
             Catch::Contains("merge 1 'a b' makes id 256 after a merge that made id 257"));
  // HF would never make "bc"; ids as ranks would.
  const auto unlisted = write_file("unlisted.json", vocab_with(R"("merges": ["a b"], )"));
  CHECK_THAT(error_of([&] { Tokenizer::load(unlisted); }, ErrorCode::kUnsupported),
             Catch::Contains("'b' + 'c', but no merge lists that pair"));
  const auto not_a_token =
      write_file("not-token.json", vocab_with(R"("merges": ["a b", "b c", "c d"], )"));
  CHECK_THAT(error_of([&] { Tokenizer::load(not_a_token); }, ErrorCode::kUnsupported),
             Catch::Contains("makes 'cd', which is not a token"));
}

TEST_CASE("the GGUF vocabulary loads into the same tokenizer as tokenizer.json",
          "[tokenizer][data]") {
  const auto& from_json = testing::llama3_tokenizer();
  const Tokenizer from_gguf =
      Tokenizer::load(testing::require_data_file("ggml-vocab-llama-bpe.gguf"));
  CHECK(from_gguf.family() == Tokenizer::Family::kLlama3Bpe);
  REQUIRE(from_gguf.vocab_size() == from_json.vocab_size());
  for (TokenId id = 0; id < 128000; ++id) REQUIRE(from_gguf.piece(id) == from_json.piece(id));
  for (TokenId id = 128000; id < 128256; ++id) REQUIRE(from_gguf.kind(id) == TokenKind::kControl);
  CHECK(from_gguf.bos_id() == 128000);
  CHECK(from_gguf.add_bos_by_default());
  for (TokenId id : {128001, 128009}) CHECK(from_gguf.is_end_of_generation(id));
  testing::TextGenerator generator(5);
  const std::string text = generator.corpus(300000);
  CHECK(from_gguf.encode(text) == from_json.encode(text));
  CHECK(from_gguf.encode("<|start_header_id|>user<|end_header_id|>", {.parse_special = true}) ==
        std::vector<TokenId>{128006, 882, 128007});
}

TEST_CASE("GGUF vocabularies of other kinds are refused or sent to SentencePiece",
          "[tokenizer][data]") {
  const Tokenizer spm = Tokenizer::load(testing::require_data_file("stories260K.gguf"));
  CHECK(spm.family() == Tokenizer::Family::kSentencePiece);
  const auto dir = testing::scratch_dir("gguf-vocab");
  auto write_vocab = [&](const std::string& name, const std::string& model,
                         const std::string& pre) {
    io::GgufWriter writer;
    writer.set_string("tokenizer.ggml.model", model);
    if (!pre.empty()) writer.set_string("tokenizer.ggml.pre", pre);
    writer.set_string_array("tokenizer.ggml.tokens", {"a", "b"});
    writer.write(dir / name, [](std::size_t, std::vector<std::byte>&) {});
    return dir / name;
  };
  CHECK_THAT(error_of([&] { Tokenizer::load(write_vocab("qwen.gguf", "gpt2", "qwen2")); },
                      ErrorCode::kUnsupported),
             Catch::Contains("qwen2") && Catch::Contains("qwen.gguf"));
  CHECK_THAT(
      error_of([&] { Tokenizer::load(write_vocab("t5.gguf", "t5", "")); }, ErrorCode::kUnsupported),
      Catch::Contains("t5"));
  CHECK_THAT(error_of([&] { Tokenizer::load(write_vocab("few.gguf", "gpt2", "llama-bpe")); },
                      ErrorCode::kBadFormat),
             Catch::Contains("single byte"));
}

TEST_CASE("a GGUF vocabulary with an out-of-range bos id or unordered merges is refused",
          "[tokenizer]") {
  const auto source = io::GgufFile::open(testing::require_data_file("ggml-vocab-llama-bpe.gguf"));
  // The same vocabulary with `replaced` set anew by `edit`.
  auto rewrite = [&](const std::string& name, const std::string& replaced,
                     const std::function<void(io::GgufWriter&)>& edit) {
    io::GgufWriter writer;
    for (const auto& kv : source.metadata()) {
      const std::string key(kv.key);
      if (key != "general.alignment" && key != replaced) {
        io::copy_gguf_value(writer, key, kv.value);
      }
    }
    edit(writer);
    const auto path = testing::scratch_dir("vocab-loaders-" + name) / "vocab.gguf";
    writer.write(path, [](std::size_t, std::vector<std::byte>&) {});
    return path;
  };
  const auto bos = rewrite("bos", "tokenizer.ggml.bos_token_id", [](io::GgufWriter& writer) {
    writer.set_uint32("tokenizer.ggml.bos_token_id", 999999);
  });
  CHECK_THAT(error_of([&] { Tokenizer::load(bos); }, ErrorCode::kBadFormat),
             Catch::Contains("tokenizer.ggml.bos_token_id") && Catch::Contains("999999"));

  auto merges = source.get("tokenizer.ggml.merges").strings("merges");
  std::vector<std::string> swapped(merges.begin(), merges.end());
  std::swap(swapped[0], swapped[1000]);
  const auto unordered = rewrite("unordered", "tokenizer.ggml.merges", [&](io::GgufWriter& writer) {
    writer.set_string_array("tokenizer.ggml.merges", swapped);
  });
  CHECK_THAT(error_of([&] { Tokenizer::load(unordered); }, ErrorCode::kUnsupported),
             Catch::Contains("tokenizer.ggml.merges: merge 1 "));
}
