// `llama3 export-lora` and `--lora` on the command line: the merged file, its types, progress,
// nothing left behind on failure.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "io/gguf.hpp"
#include "lora/lora_test_support.hpp"
#include "support/run_tool.hpp"

namespace llama3::testing {

TEST_CASE("export-lora writes the merged model in the base's types, with progress", "[lora]") {
  const auto base_path =
      make_test_gguf_model("--shape tiny --type q8_0 --seed 91", "lora-cli-base.gguf");
  const Model base = Model::load(base_path);
  const auto adapter = write_lora_adapter(hf_process_dir() / "adapter-cli", base.config(), {});
  const auto out_dir = hf_process_dir() / "lora-cli-out";
  std::filesystem::create_directories(out_dir);
  const auto out = out_dir / "merged.gguf";

  const auto run = run_tool("export-lora -m " + base_path.string() + " -l " + adapter.string() +
                                ":0.5 -o " + out.string() + " -t 2 --progress lines",
                            "export-lora");
  INFO(run.err << run.out);
  REQUIRE(run.exit_code == 0);
  CHECK(run.err.find("blk.1.ffn_down.weight") != std::string::npos);  // progress names tensors
  CHECK(run.err.find("rounded to it again") != std::string::npos);    // q8_0 requantized
  const auto merged = io::GgufFile::open(out);
  const auto input = io::GgufFile::open(base_path);
  REQUIRE(merged.tensors().size() == input.tensors().size());
  for (std::size_t i = 0; i < merged.tensors().size(); ++i) {
    CHECK(merged.tensors()[i].type == input.tensors()[i].type);
  }
  // Untouched tensors are copied byte for byte; adapted ones changed.
  const auto same_bytes = [&](const std::string& name) {
    const auto* a = merged.find_tensor(name);
    const auto* b = input.find_tensor(name);
    return a->n_bytes == b->n_bytes && std::memcmp(a->data, b->data, a->n_bytes) == 0;
  };
  CHECK(same_bytes("token_embd.weight"));
  CHECK(same_bytes("blk.0.attn_norm.weight"));
  CHECK_FALSE(same_bytes("blk.0.attn_q.weight"));
  CHECK_FALSE(same_bytes("blk.1.ffn_down.weight"));
  // The merged model runs, and --lora at run time on the base gives close logits (the merged
  // weights are rounded to q8_0 again, so not the same).
  const auto tokens = lora_test_prompt(6, base.config().n_vocab);
  const auto runtime = all_logits(base, tokens, {{LoraAdapter::load(base, adapter), 0.5f}});
  const auto from_file = all_logits(Model::load(out), tokens);
  CHECK(relative_logit_error(from_file, runtime) < 0.2);
}

TEST_CASE("export-lora refuses a bad adapter and leaves no file behind", "[lora]") {
  const auto base_path =
      make_test_gguf_model("--shape tiny --type f32 --seed 92", "lora-cli-bad.gguf");
  const Model base = Model::load(base_path);
  LoraTestSpec spec;
  spec.config_json = R"({"r": 4, "lora_alpha": 8})";
  const auto adapter =
      write_lora_adapter(hf_process_dir() / "adapter-cli-bad", base.config(), spec);
  const auto out_dir = hf_process_dir() / "lora-cli-bad-out";
  std::filesystem::create_directories(out_dir);
  const auto run = run_tool("export-lora -m " + base_path.string() + " -l " + adapter.string() +
                                " -o " + (out_dir / "merged.gguf").string(),
                            "export-lora-bad");
  CHECK(run.exit_code != 0);
  CHECK(run.err.find("adapter_config.json says r = 4") != std::string::npos);
  CHECK(std::filesystem::is_empty(out_dir));
  // The output may not be one of the inputs.
  const auto same = run_tool("export-lora -m " + base_path.string() + " -l " + adapter.string() +
                                 " -o " + base_path.string(),
                             "export-lora-same");
  CHECK(same.exit_code != 0);
}

TEST_CASE("generate with --lora PATH:SCALE runs the adapter, and scale 0 is the base", "[lora]") {
  const auto base_path =
      make_test_gguf_model("--shape tiny --type f32 --seed 93", "lora-cli-generate.gguf");
  const Model base = Model::load(base_path);
  LoraTestSpec spec;
  spec.b_stddev = 0.5f;
  const auto adapter =
      write_lora_adapter(hf_process_dir() / "adapter-cli-gen", base.config(), spec);
  const auto eval = [&](const std::string& lora) {
    const auto out = hf_process_dir() / "lora-cli-logits.f32";
    const auto run = run_tool("eval-logits -m " + base_path.string() + " --tokens '1 2 3' -o " +
                                  out.string() + " -t 2" + lora,
                              "lora-eval");
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    std::ifstream in(out, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    return bytes;
  };
  const auto plain = eval("");
  CHECK(eval(" --lora " + adapter.string() + ":0") == plain);
  CHECK(eval(" --lora " + adapter.string()) != plain);
  CHECK(eval(" --lora " + adapter.string() + ":1 --lora " + adapter.string() + ":-1") != plain);
  const auto bad = run_tool("eval-logits -m " + base_path.string() + " --tokens '1' -o /dev/null" +
                                " --lora " + (hf_process_dir() / "nowhere").string(),
                            "lora-eval-bad");
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("nowhere") != std::string::npos);
  // Every command that runs the model takes the flag and loads the adapter.
  for (const std::string command : {"generate -p hi", "chat", "bench -n 1 -p 0 -r 1"}) {
    INFO(command);
    const auto run = run_tool(command + " -m " + base_path.string() + " --lora " +
                                  (hf_process_dir() / "nowhere").string(),
                              "lora-commands");
    CHECK(run.exit_code != 0);
    CHECK(run.err.find("nowhere: no such adapter") != std::string::npos);
  }
}

}  // namespace llama3::testing
