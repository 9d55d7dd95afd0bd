// LoRA adapters at run time: against the merged model, scale 0 against the base, several adapters,
// per-sequence adapters in the engine, and HF q/k row order.
#include <catch2/catch.hpp>

#include "llama3/engine.hpp"
#include "lora/lora_test_support.hpp"

namespace llama3::testing {
namespace {

// Run-time W·x + s·B·(A·x) against the merged W + s·B·A, both in f32: they differ only in the
// order of the float32 sums. Measured on the tiny model: ~1e-6 of the logits' spread; the bound
// leaves room for other summation orders while a wrong target, scale or row order moves the
// logits by O(1) of their spread.
constexpr double kMergedTolerance = 1e-4;

struct MergeCase {
  std::string model_args;
  int rank;
  double alpha;
  bool rslora;
  float scale;
};

}  // namespace

TEST_CASE("run-time adapters give the logits of the merged model", "[lora]") {
  const MergeCase cases[] = {
      {"--shape tiny --type f32 --seed 31", 8, 16.0, false, 1.0f},
      {"--shape tiny --type f32 --seed 32 --tied", 16, 32.0, true, 0.5f},
      // The 1B shape (dim 2048, 32 heads of 64, GQA 4:1, ffn 8192) with one layer and a small
      // vocabulary; its f16 weights dequantize exactly into the f32 merge.
      {"--shape 1b --type f16 --seed 33 --layers 1 --vocab none --n-vocab 512", 16, 16.0, false,
       1.0f},
  };
  int index = 0;
  for (const auto& c : cases) {
    INFO("model " << c.model_args << ", rank " << c.rank << ", seed " << 100 + index);
    const auto base_path =
        make_test_gguf_model(c.model_args, "lora-base-" + std::to_string(index) + ".gguf");
    const Model base = Model::load(base_path);
    LoraTestSpec spec;
    spec.rank = c.rank;
    spec.alpha = c.alpha;
    spec.rslora = c.rslora;
    spec.seed = 100 + static_cast<std::uint64_t>(index);
    const auto adapter = write_lora_adapter(hf_process_dir() / ("adapter-" + std::to_string(index)),
                                            base.config(), spec);
    const auto merged_path = hf_process_dir() / ("lora-merged-" + std::to_string(index) + ".gguf");
    ConvertOptions options;
    options.type = "f32";
    merge_lora(base_path, {{adapter, c.scale}}, merged_path, options);
    const Model merged = Model::load(merged_path);

    const auto tokens = lora_test_prompt(10, base.config().n_vocab);
    const auto with_adapter =
        all_logits(base, tokens, {{LoraAdapter::load(base, adapter), c.scale}});
    const auto want = all_logits(merged, tokens);
    const double error = relative_logit_error(with_adapter, want);
    const double effect = relative_logit_error(all_logits(base, tokens), want);
    INFO("error " << error << ", the adapter's own effect " << effect);
    CHECK(error < kMergedTolerance);
    CHECK(effect > 100 * kMergedTolerance);  // the adapter changes the logits: the check has teeth
    ++index;
  }
}

TEST_CASE("an adapter at scale 0, or none, is the base model bit for bit", "[lora]") {
  const Model base =
      Model::load(make_test_gguf_model("--shape tiny --type q8_0 --seed 41", "lora-scale0.gguf"));
  const auto adapter = LoraAdapter::load(
      base, write_lora_adapter(hf_process_dir() / "adapter-scale0", base.config(), {}));
  const auto tokens = lora_test_prompt(9, base.config().n_vocab);
  const auto plain = all_logits(base, tokens);
  CHECK(same_logit_bits(all_logits(base, tokens, {{adapter, 0.0f}}), plain));
  CHECK(same_logit_bits(all_logits(base, tokens, {{adapter, 0.0f}, {adapter, -0.0f}}), plain));
  CHECK_FALSE(same_logit_bits(all_logits(base, tokens, {{adapter, 1.0f}}), plain));

  // Swapping adapters on a session: off again after reset gives the base bits.
  Session session(base, {.n_ctx = 64,
                         .n_threads = 2,
                         .kv_cache_type = KvCacheType::kF32,  // as all_logits
                         .adapters = {{adapter, 1.0f}}});
  session.decode_all_logits(tokens);
  session.set_adapters({});
  session.reset();
  const auto logits = session.decode_all_logits(tokens);
  CHECK(same_logit_bits({logits.begin(), logits.end()}, plain));
}

TEST_CASE("two adapters at once add their updates", "[lora]") {
  const auto base_path = make_test_gguf_model("--shape tiny --type f32 --seed 51", "lora-two.gguf");
  const Model base = Model::load(base_path);
  LoraTestSpec first, second;
  first.seed = 7;
  second.seed = 8;
  second.rank = 16;
  second.targets = {"v_proj", "down_proj"};
  const auto first_path =
      write_lora_adapter(hf_process_dir() / "adapter-two-a", base.config(), first);
  const auto second_path =
      write_lora_adapter(hf_process_dir() / "adapter-two-b", base.config(), second);
  const auto merged_path = hf_process_dir() / "lora-two-merged.gguf";
  ConvertOptions options;
  options.type = "f32";
  merge_lora(base_path, {{first_path, 0.8f}, {second_path, 1.5f}}, merged_path, options);
  const auto tokens = lora_test_prompt(7, base.config().n_vocab);
  const auto got = all_logits(
      base, tokens,
      {{LoraAdapter::load(base, first_path), 0.8f}, {LoraAdapter::load(base, second_path), 1.5f}});
  CHECK(relative_logit_error(got, all_logits(Model::load(merged_path), tokens)) < kMergedTolerance);
}

TEST_CASE("engine requests with different adapters in one batch each match a Session",
          "[lora][engine]") {
  const Model base =
      Model::load(make_test_gguf_model("--shape tiny --type q8_0 --seed 61", "lora-engine.gguf"));
  LoraTestSpec other;
  other.seed = 99;
  other.targets = {"q_proj", "up_proj"};
  const auto one = LoraAdapter::load(
      base, write_lora_adapter(hf_process_dir() / "adapter-engine-1", base.config(), {}));
  const auto two = LoraAdapter::load(
      base, write_lora_adapter(hf_process_dir() / "adapter-engine-2", base.config(), other));
  const std::vector<std::vector<ActiveLora>> choices = {
      {}, {{one, 1.0f}}, {{two, 0.5f}}, {{one, 1.0f}, {two, 2.0f}}, {{one, 1.0f}}};

  Engine engine(base, {.n_threads = 2, .n_ctx = 64, .background = false});
  std::vector<std::vector<float>> first_logits(choices.size());
  std::vector<Engine::RequestId> ids;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    EngineRequest request;
    request.prompt = lora_test_prompt(5 + i, base.config().n_vocab);
    request.generate.max_tokens = 1;
    request.sampling.temperature = 0.0f;
    request.adapters = choices[i];
    request.on_logits = [&first_logits, i](std::span<const float> logits) {
      if (first_logits[i].empty()) first_logits[i].assign(logits.begin(), logits.end());
    };
    ids.push_back(engine.submit(std::move(request)));
  }
  while (engine.step()) {
  }
  for (std::size_t i = 0; i < choices.size(); ++i) {
    INFO("request " << i);
    REQUIRE(engine.wait(ids[i]).state == RequestState::kFinished);
    Session session(base, {.n_ctx = 64, .n_threads = 2, .adapters = choices[i]});
    const auto logits = session.decode(lora_test_prompt(5 + i, base.config().n_vocab));
    CHECK(same_logit_bits(first_logits[i], {logits.begin(), logits.end()}));
  }
}

TEST_CASE("q/k adapters follow the model's row order: HF folder, GGUF and torchtune agree",
          "[lora]") {
  // The same random model as a HF folder (BF16, q/k rows permuted, rotated half-split) and as a
  // BF16 GGUF in Meta's order. One PEFT adapter (B's rows in HF order) must change both alike;
  // the same update named the torchtune way (rows in Meta's order) must too.
  const auto hf = make_test_hf_model("--shape tiny --seed 71", "lora-hf");
  const auto gguf_path = hf_process_dir() / "lora-hf-converted.gguf";
  ConvertOptions convert;
  convert.type = "bf16";
  convert_hf_to_gguf(hf, gguf_path, convert);
  const Model hf_model = Model::load(hf);
  const Model gguf_model = Model::load(gguf_path);
  REQUIRE(hf_model.config().rope_layout == RopeLayout::kHalfSplit);
  REQUIRE(gguf_model.config().rope_layout == RopeLayout::kAdjacentPairs);

  LoraTestSpec peft;
  peft.seed = 5;
  peft.b_stddev = 0.1f;
  peft.targets = {"q_proj", "k_proj"};
  LoraTestSpec torchtune = peft;
  torchtune.torchtune = true;
  const auto peft_path =
      write_lora_adapter(hf_process_dir() / "adapter-qk-peft", hf_model.config(), peft);
  const auto torchtune_path =
      write_lora_adapter(hf_process_dir() / "adapter-qk-torchtune", hf_model.config(), torchtune);

  const auto tokens = lora_test_prompt(12, hf_model.config().n_vocab);
  const auto hf_logits = all_logits(hf_model, tokens, {{LoraAdapter::load(hf_model, peft_path)}});
  const auto gguf_logits =
      all_logits(gguf_model, tokens, {{LoraAdapter::load(gguf_model, peft_path)}});
  const auto torchtune_logits =
      all_logits(gguf_model, tokens, {{LoraAdapter::load(gguf_model, torchtune_path)}});
  const auto hf_torchtune_logits =
      all_logits(hf_model, tokens, {{LoraAdapter::load(hf_model, torchtune_path)}});
  // Same values either way; what differs is the order of sums inside a head (rows permuted):
  // float32 rounding only.
  constexpr double kLayoutTolerance = 1e-4;
  const double effect = relative_logit_error(all_logits(gguf_model, tokens), gguf_logits);
  INFO("the adapter's own effect " << effect);
  CHECK(effect > 100 * kLayoutTolerance);
  CHECK(relative_logit_error(hf_logits, gguf_logits) < kLayoutTolerance);
  CHECK(same_logit_bits(torchtune_logits, gguf_logits));
  CHECK(same_logit_bits(hf_torchtune_logits, hf_logits));
  // B's rows left in HF order under torchtune names (the mistake this guards against) is far
  // off.
  LoraTestSpec wrong = torchtune;
  wrong.rows_as_peft = true;
  const auto wrong_path =
      write_lora_adapter(hf_process_dir() / "adapter-qk-wrong", hf_model.config(), wrong);
  const auto wrong_logits =
      all_logits(gguf_model, tokens, {{LoraAdapter::load(gguf_model, wrong_path)}});
  CHECK(relative_logit_error(wrong_logits, gguf_logits) > 10 * kLayoutTolerance);
}

}  // namespace llama3::testing
