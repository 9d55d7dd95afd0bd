// Adapters in a torch.save zip: torchtune's own adapter_model.pt (and adapter_N.pt of torchtune
// before 0.5), PEFT's adapter_model.bin. Read by the safe pickle reader; the same values as the
// safetensors form give the same logits bit for bit, and the merged model's within tolerance.
#include <catch2/catch.hpp>

#include <fstream>
#include <limits>

#include "io/pytorch_checkpoint.hpp"
#include "io/zip_archive.hpp"
#include "lora/lora_test_support.hpp"
#include "support/error_code.hpp"
#include "support/hostile_input.hpp"

namespace llama3::testing {
namespace {

// As test_lora_runtime.cpp: run time against merged differ in the order of f32 sums only.
constexpr double kMergedTolerance = 1e-4;

LoraTestSpec torch_save(LoraTestSpec spec) {
  spec.container = LoraTestContainer::kTorchSave;
  return spec;
}

void write_bytes(const std::filesystem::path& file, const std::vector<std::byte>& bytes) {
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::byte> bytes_of(std::string_view text) {
  const auto span = std::as_bytes(std::span(text.data(), text.size()));
  return {span.begin(), span.end()};
}

}  // namespace

TEST_CASE("torchtune's adapter_model.pt gives its safetensors form's logits and the merged model's",
          "[lora][pytorch]") {
  struct Case {
    std::string model_args;
    int rank;
    double alpha;
  };
  const Case cases[] = {{"--shape tiny --type f32 --seed 131", 8, 16.0},
                        {"--shape tiny --type f32 --seed 132 --tied", 16, 32.0}};
  int index = 0;
  for (const auto& c : cases) {
    INFO("rank " << c.rank << ", seed " << 300 + index);
    const std::string tag = "tt-" + std::to_string(index++);
    const auto base_path = make_test_gguf_model(c.model_args, "lora-" + tag + ".gguf");
    const Model base = Model::load(base_path);
    LoraTestSpec peft;
    peft.rank = c.rank;
    peft.alpha = c.alpha;
    peft.seed = 300 + static_cast<std::uint64_t>(index);
    LoraTestSpec torchtune = peft;
    torchtune.torchtune = true;
    const auto dir = hf_process_dir();
    const auto peft_safetensors = write_lora_adapter(dir / (tag + "-peft"), base.config(), peft);
    const auto peft_bin = write_lora_adapter(dir / (tag + "-bin"), base.config(), torch_save(peft));
    const auto tt_safetensors = write_lora_adapter(dir / (tag + "-tt"), base.config(), torchtune);
    const auto tt_pt =
        write_lora_adapter(dir / (tag + "-pt"), base.config(), torch_save(torchtune));
    REQUIRE(std::filesystem::exists(tt_pt / "adapter_model.pt"));
    REQUIRE(std::filesystem::exists(peft_bin / "adapter_model.bin"));

    const auto tokens = lora_test_prompt(10, base.config().n_vocab);
    const auto logits_of = [&](const std::filesystem::path& adapter) {
      return all_logits(base, tokens, {{LoraAdapter::load(base, adapter), 1.0f}});
    };
    const auto pt_logits = logits_of(tt_pt);
    CHECK(same_logit_bits(pt_logits, logits_of(tt_safetensors)));
    CHECK(same_logit_bits(logits_of(peft_bin), logits_of(peft_safetensors)));
    // The file itself, not only its folder.
    CHECK(same_logit_bits(logits_of(tt_pt / "adapter_model.pt"), pt_logits));

    // Merged from the PEFT form (q/k rows in HF order, permuted into the GGUF's Meta order by
    // the loader), run from torchtune's (Meta order, as stored): one update either way.
    const auto merged_path = dir / ("lora-" + tag + "-merged.gguf");
    ConvertOptions options;
    options.type = "f32";
    merge_lora(base_path, {{peft_safetensors, 1.0f}}, merged_path, options);
    const auto want = all_logits(Model::load(merged_path), tokens);
    const double error = relative_logit_error(pt_logits, want);
    const double effect = relative_logit_error(all_logits(base, tokens), want);
    INFO("error " << error << ", the adapter's own effect " << effect);
    CHECK(error < kMergedTolerance);
    CHECK(effect > 100 * kMergedTolerance);
  }
}

TEST_CASE("a torchtune .pt adapter on a HF folder gets its q/k rows permuted like PEFT's",
          "[lora][pytorch]") {
  const Model hf_model = Model::load(make_test_hf_model("--shape tiny --seed 171", "lora-tt-hf"));
  REQUIRE(hf_model.config().rope_layout == RopeLayout::kHalfSplit);
  LoraTestSpec peft;
  peft.seed = 15;
  peft.b_stddev = 0.1f;
  LoraTestSpec torchtune = torch_save(peft);
  torchtune.torchtune = true;
  const auto peft_path =
      write_lora_adapter(hf_process_dir() / "adapter-tt-hf-peft", hf_model.config(), peft);
  const auto pt_path =
      write_lora_adapter(hf_process_dir() / "adapter-tt-hf-pt", hf_model.config(), torchtune);
  const auto tokens = lora_test_prompt(12, hf_model.config().n_vocab);
  const auto peft_logits =
      all_logits(hf_model, tokens, {{LoraAdapter::load(hf_model, peft_path), 1.0f}});
  CHECK(same_logit_bits(
      all_logits(hf_model, tokens, {{LoraAdapter::load(hf_model, pt_path), 1.0f}}), peft_logits));
  CHECK_FALSE(same_logit_bits(all_logits(hf_model, tokens), peft_logits));
}

TEST_CASE(
    "torchtune's folders: adapter_N.pt of older versions, no config from its Meta "
    "checkpointer",
    "[lora][pytorch]") {
  const Model model =
      Model::load(make_test_gguf_model("--shape tiny --type q8_0 --seed 181", "lora-tt-dir.gguf"));
  const auto dir = hf_process_dir() / "tt-folders";
  std::filesystem::remove_all(dir);
  LoraTestSpec spec = torch_save({});
  spec.torchtune = true;
  const auto tokens = lora_test_prompt(6, model.config().n_vocab);
  const auto want = all_logits(
      model, tokens,
      {{LoraAdapter::load(model, write_lora_adapter(dir / "model-pt", model.config(), spec)),
        1.0f}});
  spec.file_name = "adapter_0.pt";
  const auto epoch_dir = write_lora_adapter(dir / "epochs", model.config(), spec);
  CHECK(same_logit_bits(all_logits(model, tokens, {{LoraAdapter::load(model, epoch_dir), 1.0f}}),
                        want));
  spec.file_name = "adapter_1.pt";
  write_lora_adapter(epoch_dir, model.config(), spec);
  const auto several = [&] { LoraAdapter::load(model, epoch_dir); };
  CHECK(code_of(several) == ErrorCode::kInvalidArgument);
  CHECK_THAT(message_of(several), Catch::Contains("adapter_0.pt, adapter_1.pt"));
  CHECK(same_logit_bits(
      all_logits(model, tokens, {{LoraAdapter::load(model, epoch_dir / "adapter_1.pt"), 1.0f}}),
      want));

  spec.file_name.clear();
  const auto no_config = write_lora_adapter(dir / "no-config", model.config(), spec);
  std::filesystem::remove(no_config / "adapter_config.json");
  const auto load = [&] {
    hostile_input("lora_adapter", [&] { LoraAdapter::load(model, no_config); });
  };
  CHECK(code_of(load) == ErrorCode::kIo);
  CHECK_THAT(message_of(load), Catch::Contains("lora_rank"));
}

TEST_CASE("hostile .pt adapters are refused with the tensor or global at fault",
          "[lora][pytorch]") {
  const Model model =
      Model::load(make_test_gguf_model("--shape tiny --type q8_0 --seed 191", "lora-tt-bad.gguf"));
  const auto dir = hf_process_dir() / "tt-hostile";
  std::filesystem::remove_all(dir);
  int index = 0;
  const auto expect = [&](const std::filesystem::path& adapter, ErrorCode code,
                          const std::string& needle) {
    const auto load = [&] {
      hostile_input("lora_adapter", [&] { LoraAdapter::load(model, adapter); });
    };
    const std::string message = message_of(load);
    INFO(adapter.string() << ": " << message);
    CHECK(code_of(load) == code);
    CHECK_THAT(message, Catch::Contains(needle));
  };
  const auto adapter_with = [&](std::function<void(std::vector<LoraTestTensor>&)> mutate) {
    LoraTestSpec spec = torch_save({});
    spec.torchtune = true;
    spec.mutate = std::move(mutate);
    return write_lora_adapter(dir / std::to_string(index++), model.config(), spec);
  };
  // A valid adapter whose .pt is then replaced by `bytes`.
  const auto pt_with = [&](const std::vector<std::byte>& bytes) {
    const auto folder = adapter_with({});
    write_bytes(folder / "adapter_model.pt", bytes);
    return folder;
  };
  const auto named = [](std::vector<LoraTestTensor> & t, const std::string& suffix) -> auto& {
    for (auto& tensor : t) {
      if (tensor.name.ends_with(suffix)) return tensor;
    }
    throw std::runtime_error("no tensor ending " + suffix);
  };

  // GLOBAL os.system + REDUCE in data.pkl: refused before anything is called.
  std::string payload =
      "\x80\x02"
      "cos\nsystem\n"
      "X";  // BINUNICODE "id", a 4-byte length
  payload += std::string("\x02\0\0\0", 4) + "id" + "\x85R.";
  expect(pt_with(io::zip_stored_bytes({{"adapter_model/data.pkl", bytes_of(payload)}})),
         ErrorCode::kBadFormat, "os.system");
  expect(adapter_with([&](auto& t) {
           auto& a = named(t, "layers.1.attn.v_proj.lora_a.weight");
           a.shape[1] -= 1;
           a.values.resize(a.shape[0] * a.shape[1]);
         }),
         ErrorCode::kBadFormat, "layers.1.attn.v_proj.lora_a.weight is [8, 255]");
  expect(adapter_with([&](auto& t) {
           auto& b = named(t, "layers.0.mlp.w2.lora_b.weight");
           b.shape[0] = 8;
           b.values.resize(8 * b.shape[1]);
         }),
         ErrorCode::kBadFormat, "layers.0.mlp.w2.lora_b.weight [8, 8]");
  expect(adapter_with([&](auto& t) {
           auto& a = named(t, "layers.0.attn.q_proj.lora_a.weight");
           a.shape[0] = 4;
           a.values.resize(4 * a.shape[1]);
         }),
         ErrorCode::kBadFormat, "layers.0.attn.q_proj.lora_a.weight: rank 4, but");
  expect(adapter_with([&](auto& t) {
           named(t, "layers.1.mlp.w3.lora_b.weight").values[3] =
               std::numeric_limits<float>::quiet_NaN();
         }),
         ErrorCode::kBadFormat, "layers.1.mlp.w3.lora_b.weight: value [0, 3] is NaN");
  // torchtune's DoRA saves a magnitude vector per module.
  expect(adapter_with([&](auto& t) {
           t.push_back({"layers.0.attn.q_proj.magnitude", {256}, std::vector<float>(256, 1.0f)});
         }),
         ErrorCode::kUnsupported, "DoRA");
  expect(adapter_with([&](auto& t) { t[0].name = "layers.0.attn.q_proj.lora_A.weight"; }),
         ErrorCode::kBadFormat, "mixes PEFT and torchtune");
  // A tensor of integers where a float matrix belongs.
  {
    std::vector<io::PytorchTensorToWrite> tensors = {{"layers.0.attn.q_proj.lora_a.weight",
                                                      io::TorchDtype::kI64,
                                                      {8, 256},
                                                      std::vector<std::byte>(8 * 256 * 8)}};
    expect(pt_with(io::pytorch_checkpoint_bytes(tensors, "adapter_model")), ErrorCode::kUnsupported,
           "layers.0.attn.q_proj.lora_a.weight: dtype Long");
  }
  // Cut short, so the zip's end records are gone.
  {
    const auto folder = adapter_with({});
    std::filesystem::resize_file(folder / "adapter_model.pt", 3000);
    expect(folder, ErrorCode::kBadFormat, "zip");
  }
  // torch.save's format before PyTorch 1.6: a bare pickle stream.
  expect(pt_with(bytes_of("\x80\x02N.")), ErrorCode::kUnsupported, "legacy torch.save format");
}

}  // namespace llama3::testing
