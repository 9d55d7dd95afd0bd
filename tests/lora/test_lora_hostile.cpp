// Hostile and malformed adapters: each is refused with a clear error naming what is wrong.
#include <catch2/catch.hpp>

#include <fstream>
#include <limits>

#include "lora/lora_test_support.hpp"
#include "support/error_code.hpp"
#include "support/hostile_input.hpp"

namespace llama3::testing {
namespace {

const Model& hostile_test_model() {
  static const Model model =
      Model::load(make_test_gguf_model("--shape tiny --type q8_0 --seed 81", "lora-hostile.gguf"));
  return model;
}

struct Hostile {
  const char* what;
  LoraTestSpec spec;
  ErrorCode code;
  const char* message;  // a part of the message
};

LoraTestSpec mutated(std::function<void(std::vector<LoraTestTensor>&)> mutate) {
  LoraTestSpec spec;
  spec.mutate = std::move(mutate);
  return spec;
}

LoraTestSpec with_config(std::string json) {
  LoraTestSpec spec;
  spec.config_json = std::move(json);
  return spec;
}

LoraTestTensor& find(std::vector<LoraTestTensor>& tensors, const std::string& suffix) {
  for (auto& tensor : tensors) {
    if (tensor.name.ends_with(suffix)) return tensor;
  }
  throw std::runtime_error("no tensor ending " + suffix);
}

}  // namespace

TEST_CASE("hostile adapters are refused with the tensor or key at fault", "[lora]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Hostile cases[] = {
      {"A with the wrong input size", mutated([](auto& t) {
         auto& a = find(t, "layers.1.self_attn.v_proj.lora_A.weight");
         a.shape[1] -= 1;
         a.values.resize(a.shape[0] * a.shape[1]);
       }),
       ErrorCode::kBadFormat, "layers.1.self_attn.v_proj.lora_A.weight is [8, 255]"},
      {"B with the wrong output size", mutated([](auto& t) {
         auto& b = find(t, "layers.0.mlp.down_proj.lora_B.weight");
         b.shape[0] = 8;
         b.values.resize(8 * b.shape[1]);
       }),
       ErrorCode::kBadFormat, "shape mismatch"},
      {"a rank other than r", mutated([](auto& t) {
         auto& a = find(t, "layers.0.self_attn.q_proj.lora_A.weight");
         a.shape[0] = 4;
         a.values.resize(4 * a.shape[1]);
       }),
       ErrorCode::kBadFormat, "layers.0.self_attn.q_proj.lora_A.weight: rank 4, but"},
      {"NaN in B",
       mutated([&](auto& t) { find(t, "layers.1.mlp.up_proj.lora_B.weight").values[5] = nan; }),
       ErrorCode::kBadFormat, "layers.1.mlp.up_proj.lora_B.weight: value [0, 5] is NaN"},
      {"infinity in A", mutated([&](auto& t) {
         find(t, "layers.0.self_attn.o_proj.lora_A.weight").values[0] = inf;
       }),
       ErrorCode::kBadFormat, "o_proj.lora_A.weight: value [0, 0] is NaN or infinite"},
      {"a missing B", mutated([](auto& t) {
         std::erase_if(
             t, [](const auto& x) { return x.name.ends_with("0.mlp.gate_proj.lora_B.weight"); });
       }),
       ErrorCode::kBadFormat, "gate_proj.lora_A.weight: its B (lora_B) is missing"},
      {"an unknown target module", mutated([](auto& t) {
         t[0].name = "base_model.model.model.layers.0.self_attn.x_proj.lora_A.weight";
       }),
       ErrorCode::kBadFormat, "unknown target module 'self_attn.x_proj'"},
      {"a layer the model does not have", mutated([](auto& t) {
         for (auto& x : t) {
           if (x.name.find("layers.1.self_attn.k_proj") != std::string::npos) {
             x.name.replace(x.name.find("layers.1."), 9, "layers.7.");
           }
         }
       }),
       ErrorCode::kBadFormat, "layer 7, but the model has 2"},
      {"a 3-D tensor", mutated([](auto& t) {
         auto& a = find(t, "layers.0.self_attn.q_proj.lora_A.weight");
         a.shape = {1, a.shape[0], a.shape[1]};
       }),
       ErrorCode::kBadFormat, "expected 2 dims"},
      {"an embedding adapter",
       mutated([](auto& t) { t[0].name = "base_model.model.lm_head.lora_A.weight"; }),
       ErrorCode::kUnsupported, "embedding or output layer"},
      {"mixed PEFT and torchtune names",
       mutated([](auto& t) { t[0].name = "layers.0.attn.q_proj.lora_a.weight"; }),
       ErrorCode::kBadFormat, "mixes PEFT and torchtune"},
      {"no LoRA tensors at all", mutated([](auto& t) { t.clear(); }), ErrorCode::kBadFormat,
       "no LoRA tensors"},
      {"an unknown target in target_modules",
       with_config(R"({"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "foo_proj"]})"),
       ErrorCode::kBadFormat, "unknown target module 'foo_proj'"},
      {"a tensor of a module target_modules does not list",
       with_config(R"({"r": 8, "lora_alpha": 16, "target_modules": ["q_proj"]})"),
       ErrorCode::kBadFormat, "is not in adapter_config.json's target_modules"},
      {"r that is not the tensors' rank", with_config(R"({"r": 16, "lora_alpha": 16})"),
       ErrorCode::kBadFormat, "rank 8, but adapter_config.json says r = 16"},
      {"r = 0", with_config(R"({"r": 0, "lora_alpha": 16})"), ErrorCode::kBadFormat,
       "r = 0 is not a rank"},
      {"no lora_alpha", with_config(R"({"r": 8})"), ErrorCode::kBadFormat, "missing lora_alpha"},
      {"config that is not JSON", with_config("{\"r\": 8,"), ErrorCode::kBadFormat,
       "not valid JSON"},
      {"DoRA", with_config(R"({"r": 8, "lora_alpha": 16, "use_dora": true})"),
       ErrorCode::kUnsupported, "DoRA"},
      {"per-module ranks",
       with_config(R"({"r": 8, "lora_alpha": 16, "rank_pattern": {"q_proj": 4}})"),
       ErrorCode::kUnsupported, "rank_pattern"},
      {"another PEFT method", with_config(R"({"peft_type": "IA3", "r": 8, "lora_alpha": 16})"),
       ErrorCode::kUnsupported, "only LORA"},
  };
  int index = 0;
  for (const auto& c : cases) {
    INFO(c.what);
    const auto folder =
        write_lora_adapter(hf_process_dir() / ("hostile-" + std::to_string(index++)),
                           hostile_test_model().config(), c.spec);
    const auto load = [&] { LoraAdapter::load(hostile_test_model(), folder); };
    const std::string message = message_of(load);
    INFO(message);
    CHECK(code_of([&] { hostile_input("lora_adapter", load); }) == c.code);
    CHECK(message.find(c.message) != std::string::npos);
  }
}

TEST_CASE("adapter files that are missing or unreadable are refused", "[lora]") {
  const Model& model = hostile_test_model();
  const auto dir = hf_process_dir() / "hostile-files";
  std::filesystem::create_directories(dir / "empty");
  CHECK(code_of([&] {
          hostile_input("lora_adapter", [&] { LoraAdapter::load(model, dir / "nowhere"); });
        }) == ErrorCode::kIo);
  CHECK(code_of([&] {
          hostile_input("lora_adapter", [&] { LoraAdapter::load(model, dir / "empty"); });
        }) == ErrorCode::kIo);
  std::filesystem::create_directories(dir / "pickle");
  std::ofstream(dir / "pickle" / "adapter_model.bin") << "not a zip";
  std::ofstream(dir / "pickle" / "adapter_config.json") << R"({"r": 8, "lora_alpha": 16})";
  const auto not_zip = [&] {
    hostile_input("lora_adapter", [&] { LoraAdapter::load(model, dir / "pickle"); });
  };
  CHECK(code_of(not_zip) == ErrorCode::kBadFormat);
  CHECK_THAT(message_of(not_zip), Catch::Contains("adapter_model.bin: not a torch.save"));
  const auto no_config = write_lora_adapter(dir / "no-config", model.config(), {});
  std::filesystem::remove(no_config / "adapter_config.json");
  CHECK(message_of([&] {
          hostile_input("lora_adapter", [&] { LoraAdapter::load(model, no_config); });
        }).find("adapter_config.json") != std::string::npos);
  // Truncated tensor data: the safetensors reader's own checks.
  const auto truncated = write_lora_adapter(dir / "truncated", model.config(), {});
  std::filesystem::resize_file(truncated / "adapter_model.safetensors", 1000);
  CHECK(code_of([&] {
          hostile_input("lora_adapter", [&] { LoraAdapter::load(model, truncated); });
        }) == ErrorCode::kBadFormat);
}

TEST_CASE("an adapter is refused for a model of another shape, and a scale must be finite",
          "[lora]") {
  const Model& model = hostile_test_model();
  const auto folder = write_lora_adapter(hf_process_dir() / "hostile-shape", model.config(), {});
  const auto adapter = LoraAdapter::load(model, folder);
  const Model other = Model::load(
      make_test_gguf_model("--shape tiny --type q8_0 --layers 3 --seed 82", "lora-other.gguf"));
  CHECK(code_of([&] {
          Session(other, {.n_ctx = 16, .adapters = {{adapter, 1.0f}}});
        }) == ErrorCode::kInvalidArgument);
  Session session(model, {.n_ctx = 16});
  CHECK(code_of([&] {
          session.set_adapters({{adapter, std::numeric_limits<float>::quiet_NaN()}});
        }) == ErrorCode::kInvalidArgument);
  // Loading it for the other model checks the tensors against that model's shape instead.
  CHECK(code_of([&] { LoraAdapter::load(other, folder); }) == ErrorCode::kOk);
}

}  // namespace llama3::testing
