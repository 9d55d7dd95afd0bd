// `llama3 convert` end to end: a random HF folder (permuted q/k, BF16, sharded) to every type; each
// GGUF loads in Meta order and gives the HF model's logits (exactly up to float rounding for
// f32/bf16, within the quantization bounds otherwise); the GGUF tokenizer equals the tokenizer.json
// one and follows llama.cpp's conventions.
#include <catch2/catch.hpp>

#include <cstring>

#include "convert/convert_test_support.hpp"
#include "io/gguf.hpp"
#include "tokenizer/tokenizer_impl.hpp"

using namespace llama3;

namespace {

struct ConvertBounds {
  const char* type;
  double logit_error;  // ||gguf logits - hf logits|| / ||hf logits||
};

// f32 and bf16 hold the BF16 weights exactly; only the q·k summation order differs from the HF
// model's (float rounding, ~1e-6 relative). f16 rounds the few BF16 values below f16's normal
// range. The quantized bounds are test_quantize_command.cpp's (same model family, same reasoning).
constexpr ConvertBounds kTypes[] = {
    {"f32", 1e-5},  {"bf16", 1e-5},   {"f16", 0.0015},  {"q8_0", 0.025}, {"q6_k", 0.08},
    {"q5_1", 0.16}, {"q5_0", 0.18},   {"q5_k", 0.17},   {"q4_1", 0.33},  {"q4_0", 0.35},
    {"q4_k", 0.30}, {"q4_k_m", 0.28}, {"q5_k_m", 0.16},
};

}  // namespace

TEST_CASE("convert writes every type, each GGUF runs like the HF folder", "[convert]") {
  const auto hf_dir = testing::make_test_hf_model(
      "--seed 21 --untied --rope-freqs --layers 4 --shards 2", "convert-source");
  const auto reference = testing::model_logits(Model::load(hf_dir));

  for (const auto& bounds : kTypes) {
    INFO("type " << bounds.type);
    const auto out =
        testing::hf_process_dir() / (std::string("converted-") + bounds.type + ".gguf");
    const std::string report =
        testing::run_llama3("convert " + hf_dir.string() + " -o " + out.string() + " --type " +
                            bounds.type + " --threads 2");
    INFO(report);
    const auto file = io::GgufFile::open(out);
    CHECK(file.get("general.architecture").as_string("a") == "llama");
    CHECK(file.get("llama.block_count").as_uint("n") == 4);
    CHECK(file.get("llama.attention.head_count_kv").as_uint("n") == 2);
    CHECK(file.get("llama.rope.dimension_count").as_uint("n") == 32);
    REQUIRE(file.find_tensor("rope_freqs.weight"));
    CHECK(file.find_tensor("rope_freqs.weight")->type == io::TensorType::kF32);
    for (const auto& tensor : file.tensors()) {
      CHECK(tensor.offset % file.alignment() == 0);
    }

    const Model gguf = Model::load(out);
    CHECK(gguf.config().rope_layout == RopeLayout::kAdjacentPairs);
    CHECK(gguf.config().has_rope_freqs);
    const auto logits = testing::model_logits(gguf);
    const double error = testing::relative_difference(logits, reference);
    INFO("relative logit error " << error);
    CHECK(error < bounds.logit_error);
  }
}

TEST_CASE("convert's q/k rows are Meta's: the GGUF equals make_test_model's GGUF", "[convert]") {
  const auto hf_dir = testing::make_test_hf_model("--seed 22 --tied", "convert-meta-order");
  const auto direct = testing::make_test_gguf_model("--seed 22 --tied --type bf16", "direct.gguf");
  const auto out = testing::hf_process_dir() / "convert-meta-order.gguf";
  testing::run_llama3("convert " + hf_dir.string() + " -o " + out.string() + " --type bf16");
  const auto converted = io::GgufFile::open(out);
  const auto expected = io::GgufFile::open(direct);
  for (const char* name :
       {"blk.0.attn_q.weight", "blk.1.attn_k.weight", "blk.1.attn_v.weight", "token_embd.weight"}) {
    INFO(name);
    const auto* a = converted.find_tensor(name);
    const auto* b = expected.find_tensor(name);
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(a->n_bytes == b->n_bytes);
    CHECK(std::memcmp(a->data, b->data, a->n_bytes) == 0);  // byte for byte
  }
  CHECK_FALSE(converted.find_tensor("output.weight"));  // tied: llama.cpp falls back to token_embd
}

TEST_CASE("convert writes the tokenizer in llama.cpp's form, equal to tokenizer.json's",
          "[convert]") {
  testing::require_data_file("tokenizer.json");
  const auto llama_cpp_vocab =
      io::GgufFile::open(testing::require_data_file("ggml-vocab-llama-bpe.gguf"));
  const auto hf_dir =
      testing::make_test_hf_model("--seed 23 --vocab llama3 --layers 1", "convert-vocab");
  const auto out = testing::hf_process_dir() / "convert-vocab.gguf";
  testing::run_llama3("convert " + hf_dir.string() + " -o " + out.string() + " --type q8_0");
  const auto file = io::GgufFile::open(out);
  CHECK(file.get("tokenizer.ggml.model").as_string("m") == "gpt2");
  CHECK(file.get("tokenizer.ggml.pre").as_string("p") == "llama-bpe");
  CHECK(file.get("tokenizer.ggml.bos_token_id").as_uint("b") == 128000);
  CHECK(file.get("tokenizer.ggml.eos_token_id").as_uint("e") == 128001);
  CHECK_THAT(std::string(file.get("tokenizer.chat_template").as_string("c")),
             Catch::Contains("<|start_header_id|>"));

  // Same normal tokens, merges and token types as llama.cpp's own conversion of Llama 3 (its
  // special tokens carry the 3.1 names, the npm tokenizer.json the 3.0 ones, so those are left
  // out).
  const auto& tokens = file.get("tokenizer.ggml.tokens").strings("t");
  const auto& expected_tokens = llama_cpp_vocab.get("tokenizer.ggml.tokens").strings("t");
  REQUIRE(tokens.size() == expected_tokens.size());
  CHECK(std::equal(tokens.begin(), tokens.begin() + 128000, expected_tokens.begin()));
  CHECK(file.get("tokenizer.ggml.merges").strings("m") ==
        llama_cpp_vocab.get("tokenizer.ggml.merges").strings("m"));
  CHECK(file.get("tokenizer.ggml.token_type").ints("t") ==
        llama_cpp_vocab.get("tokenizer.ggml.token_type").ints("t"));

  // The GGUF tokenizer is the tokenizer.json tokenizer.
  const Model hf = Model::load(hf_dir);
  const Model gguf = Model::load(out);
  const auto& a = detail::TokenizerAccess::impl(hf.tokenizer()).info();
  const auto& b = detail::TokenizerAccess::impl(gguf.tokenizer()).info();
  CHECK(a.token_text == b.token_text);
  CHECK(a.kinds == b.kinds);
  for (const char* text : {"Hello world", " grabbed 🦙.cpp", "<|eot_id|> 3333333 Cửa Việt\n\n"}) {
    CHECK(hf.tokenizer().encode(text, {true, false, true}) ==
          gguf.tokenizer().encode(text, {true, false, true}));
  }
  // The GGUF is q8_0: its logits differ from the BF16 folder's by the q8_0 error, bounded as in
  // kTypes (derived there for 4 layers; this model has 1, so fewer perturbed matrices and a smaller
  // error). A layout or tokenizer mistake gives a relative error near 1.
  const double error =
      testing::relative_difference(testing::model_logits(gguf), testing::model_logits(hf));
  INFO("relative logit error " << error);
  CHECK(error < 0.025);
}
