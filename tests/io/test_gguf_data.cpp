// The GGUF reader on real files: the Llama 3 vocabulary and the stories260K model.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include "io/gguf.hpp"
#include "support/test_data.hpp"

using llama3::io::GgufFile;
using llama3::io::TensorType;

TEST_CASE("gguf reader parses the Llama 3 vocabulary file", "[io][data]") {
  const auto path = llama3::testing::require_data_file("ggml-vocab-llama-bpe.gguf");
  const auto start = std::chrono::steady_clock::now();
  const auto file = GgufFile::open(path);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // Reported, not asserted: timings depend on the machine's load.
  std::printf("parsed %s in %.2f ms\n", path.filename().c_str(),
              std::chrono::duration<double, std::milli>(elapsed).count());
  CHECK(file.get("tokenizer.ggml.tokens").strings("tokens").size() == 128256);
  CHECK(file.get("tokenizer.ggml.tokens").strings("tokens")[128000] == "<|begin_of_text|>");
  CHECK(file.get("tokenizer.ggml.merges").strings("merges").size() == 280147);
  CHECK(file.get("tokenizer.ggml.pre").as_string("pre") == "llama-bpe");
  CHECK(file.get("tokenizer.ggml.model").as_string("model") == "gpt2");
  CHECK(file.get("tokenizer.ggml.bos_token_id").as_uint("bos") == 128000);
  CHECK(file.get("tokenizer.ggml.token_type").ints("token_type").size() == 128256);
  CHECK(file.tensors().empty());

  // Reading into memory instead of mapping gives the same values.
  const auto copy = GgufFile::open(path, {.use_mmap = false, .prefetch = false});
  CHECK_FALSE(copy.file()->is_mapped());
  CHECK(copy.get("tokenizer.ggml.merges").strings("merges")[0] ==
        file.get("tokenizer.ggml.merges").strings("merges")[0]);
}

TEST_CASE("gguf reader parses the stories260K model", "[io][data]") {
  const auto path = llama3::testing::require_data_file("stories260K.gguf");
  const auto file = GgufFile::open(path, {.use_mmap = true, .prefetch = true});
  CHECK(file.file()->is_mapped());
  CHECK(file.get("general.architecture").as_string("arch") == "llama");
  CHECK(file.find("llama.rope.freq_base") == nullptr);
  CHECK(file.get("llama.embedding_length").as_uint("dim") == 64);
  const auto* embd = file.find_tensor("token_embd.weight");
  REQUIRE(embd);
  CHECK(embd->n_dims == 2);
  CHECK(embd->ne[0] == 64);
  CHECK(embd->ne[1] == 512);
  CHECK(embd->type == TensorType::kF32);
  CHECK(embd->n_bytes == 64 * 512 * 4);
  const auto* norm = file.find_tensor("blk.0.attn_norm.weight");
  REQUIRE(norm);
  CHECK(norm->n_dims == 1);
  CHECK(norm->ne[0] == 64);
  const auto* wq = file.find_tensor("blk.0.attn_q.weight");
  REQUIRE(wq);
  CHECK(wq->ne[0] == 64);
  CHECK(wq->ne[1] == 64);
  for (const auto& t : file.tensors()) {
    CAPTURE(t.name);
    CHECK(t.data + t.n_bytes <= file.file()->bytes().data() + file.file()->bytes().size());
  }
}
