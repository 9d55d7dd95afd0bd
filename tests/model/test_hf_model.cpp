// Loading Hugging Face folders: the same random model as HF safetensors (permuted q/k, BF16,
// rotated half-split) and as GGUF (Meta order, BF16, adjacent pairs) gives the same logits;
// config.json, generation_config.json and tokenizer.json are honoured; inconsistent folders fail
// clearly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "llama3/error.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "support/hf_test_models.hpp"
#include "support/hostile_input.hpp"
#include "support/model_logits.hpp"

using namespace llama3;

TEST_CASE("a HF folder and the GGUF of the same weights give the same logits", "[model]") {
  for (const std::string shape : {"--rope-freqs --untied --shards 2", "--no-rope-freqs --tied"}) {
    INFO(shape);
    const std::string name = shape.find("tied --") == std::string::npos ? "tied" : "untied";
    const auto hf_dir = testing::make_test_hf_model(shape + " --seed 5", "same-" + name);
    std::string gguf_args = shape.substr(0, shape.find(" --shards")) + " --seed 5 --type bf16";
    const auto gguf_path = testing::make_test_gguf_model(gguf_args, "same-" + name + ".gguf");
    const Model hf = Model::load(hf_dir);
    const Model gguf = Model::load(gguf_path);

    CHECK(hf.config().rope_layout == RopeLayout::kHalfSplit);
    CHECK(gguf.config().rope_layout == RopeLayout::kAdjacentPairs);
    CHECK(hf.config().dim == gguf.config().dim);
    CHECK(hf.config().n_kv_heads == gguf.config().n_kv_heads);
    CHECK(hf.config().tied_embeddings == gguf.config().tied_embeddings);
    CHECK(hf.config().has_rope_freqs == gguf.config().has_rope_freqs);
    CHECK(hf.n_params() == gguf.n_params() - (gguf.config().has_rope_freqs ? 16u : 0u));

    const auto a = testing::all_position_logits(hf);
    const auto b = testing::all_position_logits(gguf);
    // The weights are bit-identical and the rotation does the same float operations on the same
    // pairs; only the order of the q·k sums over head_dim differs (HF order vs Meta order), so the
    // logits may differ by float rounding, nothing more (measured: 1e-6 and 3e-5 on logits of
    // size O(1..10)). A wrong q/k order or rotation would change them by O(1).
    const float worst = testing::max_abs_difference(a, b);
    INFO("max |hf - gguf| = " << worst);
    CHECK(worst < 1e-3f);
  }
}

TEST_CASE("a HF folder's generation_config.json becomes the default sampling", "[model]") {
  const auto dir = testing::make_test_hf_model("--seed 2", "sampling");
  CHECK(default_sampler_params(Model::load(dir)).temperature == Approx(0.6f));
  CHECK(default_sampler_params(Model::load(dir)).top_p == Approx(0.9f));
  std::ofstream(dir / "generation_config.json") << R"({"do_sample": false, "temperature": 0.7})";
  CHECK(default_sampler_params(Model::load(dir)).temperature == 0.0f);
  std::filesystem::remove(dir / "generation_config.json");
  CHECK(default_sampler_params(Model::load(dir)).temperature == SamplerParams{}.temperature);
}

TEST_CASE("a HF folder's tokenizer.json and config eos ids make the tokenizer", "[model]") {
  testing::require_data_file("tokenizer.json");
  testing::require_data_file("ggml-vocab-llama-bpe.gguf");
  const auto dir = testing::make_test_hf_model("--vocab llama3 --seed 3 --layers 1", "vocab");
  const Model model = Model::load(dir);
  REQUIRE(model.has_tokenizer());
  const auto& tokenizer = model.tokenizer();
  CHECK(tokenizer.bos_id() == 128000);
  CHECK(tokenizer.eos_id() == 128001);
  for (TokenId id : {128001, 128008, 128009}) CHECK(tokenizer.is_end_of_generation(id));
  CHECK(tokenizer.encode("Hello world") == std::vector<TokenId>{9906, 1917});
  CHECK_THAT(model.metadata_string("tokenizer.chat_template"), Catch::Contains("start_header_id"));
}

TEST_CASE("inconsistent HF folders fail with the file and key at fault", "[model]") {
  const auto dir = testing::make_test_hf_model("--seed 4 --untied", "hostile");
  const std::string config = [&] {
    std::ifstream in(dir / "config.json");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  auto expect = [&](const std::string& edited, ErrorCode code, const std::string& needle) {
    std::ofstream(dir / "config.json") << edited;
    try {
      testing::hostile_input("hf_config", [&] { return Model::load(dir); });
      FAIL("loaded; expected " << needle);
    } catch (const Error& error) {
      INFO(error.what());
      CHECK(error.code() == code);
      CHECK_THAT(error.what(), Catch::Contains(needle));
    }
  };
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string edited = config;
    const auto at = edited.find(from);
    REQUIRE(at != std::string::npos);
    return edited.replace(at, from.size(), to);
  };
  expect(replace("\"vocab_size\": 512", "\"vocab_size\": 513"), ErrorCode::kBadFormat,
         "vocab_size = 513");
  expect(replace("\"hidden_size\": 256", "\"hidden_size\": -1"), ErrorCode::kBadFormat,
         "config.json: hidden_size = -1");
  expect(replace("\"model_type\": \"llama\"", "\"model_type\": \"mistral\""),
         ErrorCode::kUnsupported, "model_type");
  expect(replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"), ErrorCode::kBadFormat,
         "num_key_value_heads");
  expect(replace("\"hidden_size\": 256", "\"hidden_size\": 128"), ErrorCode::kBadFormat,
         "model.embed_tokens.weight: config.json gives shape [512, 128], the weights have [512, "
         "256]");
  expect("{", ErrorCode::kBadFormat, "config.json: not valid JSON");
  std::filesystem::remove(dir / "config.json");
  CHECK_THROWS_AS(testing::hostile_input("hf_config", [&] { return Model::load(dir); }), Error);
}
