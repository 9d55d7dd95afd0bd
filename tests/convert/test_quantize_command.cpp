// `llama3 quantize` end to end: a tiny F32 model to every type, each result loaded and run; tensor
// types follow the mix rule, metadata is copied, the reported error and the logits stay in bounds.
#include <catch2/catch.hpp>

#include "convert/convert_test_support.hpp"
#include "io/gguf.hpp"
#include "model/model_impl.hpp"
#include "model/quant_mix.hpp"

using namespace llama3;

namespace {

struct TypeBounds {
  const char* name;
  const char* base;    // the type most matrices get, as ggml spells it
  double weight_rmse;  // bound on the reported relative RMSE of `base`
  double logit_error;  // bound on ||logits - f32 logits|| / ||f32 logits||
};

// Weight bounds: docs/quant-formats.md's round-trip bounds for normal weights (the same kind of
// data: make_test_model draws N(0, 1/sqrt(inputs))).
// Logit bounds: on this 4-layer random model the relative logit error measures about 3x the weight
// error for every type (each logit passes through ~9 independently perturbed matrices, so the
// errors add in quadrature: sqrt(9) = 3; a random model has no trained margin to absorb them). The
// bound is ~1.5x the measured value (docs/hf-models.md), far below the ~100% of a wrong layout.
constexpr TypeBounds kTypes[] = {
    {"f16", "f16", 0.0004, 0.0015}, {"bf16", "bf16", 0.003, 0.008}, {"q8_0", "q8_0", 0.0065, 0.025},
    {"q6_k", "q6_K", 0.02, 0.08},   {"q5_1", "q5_1", 0.055, 0.16},  {"q5_0", "q5_0", 0.06, 0.18},
    {"q5_k", "q5_K", 0.045, 0.17},  {"q4_1", "q4_1", 0.11, 0.33},   {"q4_0", "q4_0", 0.12, 0.35},
    {"q4_k", "q4_K", 0.09, 0.30},   {"q4_k_m", "q4_K", 0.09, 0.28}, {"q5_k_m", "q5_K", 0.045, 0.16},
};

}  // namespace

TEST_CASE("quantize writes every type, each loads and its logits stay in bounds", "[convert]") {
  const auto f32_path = testing::make_test_gguf_model("--seed 11 --untied --rope-freqs --layers 4",
                                                      "quantize-f32.gguf");
  const Model f32 = Model::load(f32_path);
  const auto reference = testing::model_logits(f32);
  const auto input = io::GgufFile::open(f32_path);

  for (const auto& type : kTypes) {
    INFO("type " << type.name);
    const auto out = testing::hf_process_dir() / (std::string("quantized-") + type.name + ".gguf");
    const std::string report = testing::run_llama3("quantize " + f32_path.string() + " " +
                                                   out.string() + " " + type.name + " --threads 2");
    const auto rmse = testing::reported_rmse(report);
    INFO(report);
    REQUIRE(rmse.count(type.base));
    CHECK(rmse.at(type.base) < type.weight_rmse);
    CHECK(rmse.at(type.base) > 0.0);

    const auto file = io::GgufFile::open(out);
    // Every key is copied; file_type says what the file now is.
    for (const auto& kv : input.metadata()) {
      if (kv.key != "general.file_type") CHECK(file.find(kv.key));
    }
    CHECK(file.get("general.file_type").as_uint("ft") ==
          model::quant_mix_from_name(type.name)->file_type);
    for (const auto& tensor : file.tensors()) {
      INFO(tensor.name);
      if (tensor.n_dims == 1) CHECK(tensor.type == io::TensorType::kF32);
    }
    const bool mix = std::string(type.name).ends_with("_m");
    const auto type_of = [&](const char* name) {
      return std::string(io::traits_of(file.find_tensor(name)->type).name);
    };
    CHECK(type_of("blk.1.attn_q.weight") == type.base);
    CHECK(type_of("output.weight") == (mix ? "q6_K" : type.base));
    // uses_more_bits(layer, 4): the last eighth (layer 3) and every third from n/8 = 0 (layer 2).
    CHECK(type_of("blk.0.attn_v.weight") == type.base);
    CHECK(type_of("blk.2.attn_v.weight") == (mix ? "q6_K" : type.base));
    CHECK(type_of("blk.1.ffn_down.weight") == type.base);
    CHECK(type_of("blk.3.ffn_down.weight") == (mix ? "q6_K" : type.base));

    const auto logits = testing::model_logits(Model::load(out));
    const double error = testing::relative_difference(logits, reference);
    INFO("relative logit error " << error);
    CHECK(error < type.logit_error);
  }
}

TEST_CASE("quantize dequantizes an already quantized input and warns", "[convert]") {
  const auto q8 = testing::make_test_gguf_model("--seed 12 --type q8_0", "quantize-q8.gguf");
  const auto out = testing::hf_process_dir() / "requantized-q4_0.gguf";
  const std::string log = (testing::hf_process_dir() / "requantize.log").string();
  const std::string command = (testing::bin_dir() / "llama3").string() + " quantize " +
                              q8.string() + " " + out.string() + " q4_0 2>" + log + " >/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(log);
  const std::string warnings(std::istreambuf_iterator<char>(in), {});
  CHECK_THAT(warnings, Catch::Contains("already q8_0"));
  const Model model = Model::load(out);
  CHECK(detail::ModelAccess::impl(model).layers()[0].attn_q.type == io::TensorType::kQ4_0);
}

TEST_CASE("quantize refuses an unknown type and a missing input", "[convert]") {
  const auto in = testing::make_test_gguf_model("--seed 13", "quantize-refuse.gguf");
  const auto out = (testing::hf_process_dir() / "never.gguf").string();
  CHECK_THROWS(testing::run_llama3("quantize " + in.string() + " " + out + " q3_k"));
  CHECK_THROWS(testing::run_llama3("quantize /nonexistent.gguf " + out + " q4_0"));
  CHECK_FALSE(std::filesystem::exists(out));
}
