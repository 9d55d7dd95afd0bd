// LoRA adapters with random weights in PEFT's layout (adapter_config.json +
// adapter_model.safetensors), or torchtune's naming, or in a torch.save zip as torchtune's
// adapter_model.pt and PEFT's adapter_model.bin: our own writer, for the LoRA tests and
// tools/make_test_lora.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "io/pytorch_checkpoint.hpp"
#include "io/safetensors.hpp"
#include "llama3/model.hpp"

namespace llama3::testing {

struct LoraModule {
  const char* peft;       // "self_attn.q_proj"
  const char* torchtune;  // "attn.q_proj"
  const char* target;     // "q_proj", as target_modules lists it
};

inline const std::vector<LoraModule>& lora_modules() {
  static const std::vector<LoraModule> modules = {
      {"self_attn.q_proj", "attn.q_proj", "q_proj"},
      {"self_attn.k_proj", "attn.k_proj", "k_proj"},
      {"self_attn.v_proj", "attn.v_proj", "v_proj"},
      {"self_attn.o_proj", "attn.output_proj", "o_proj"},
      {"mlp.gate_proj", "mlp.w1", "gate_proj"},
      {"mlp.up_proj", "mlp.w3", "up_proj"},
      {"mlp.down_proj", "mlp.w2", "down_proj"},
  };
  return modules;
}

// One tensor about to be written; `mutate` may change any of it (hostile adapters).
struct LoraTestTensor {
  std::string name;
  std::vector<std::uint64_t> shape;  // PyTorch order
  std::vector<float> values;
};

// The container of the tensors.
enum class LoraTestContainer {
  kSafetensors,  // adapter_model.safetensors
  kTorchSave,    // a torch.save zip: adapter_model.pt with torchtune names, else adapter_model.bin
};

struct LoraTestSpec {
  int rank = 8;
  double alpha = 16.0;
  bool rslora = false;
  bool torchtune = false;     // torchtune names, q/k rows of B in Meta's order
  bool rows_as_peft = false;  // with torchtune: keep HF's row order anyway (a wrong adapter)
  std::vector<std::string> targets = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                      "gate_proj", "up_proj", "down_proj"};
  std::uint64_t seed = 1;
  float b_stddev = 0.05f;
  LoraTestContainer container = LoraTestContainer::kSafetensors;
  std::string file_name;    // instead of the container's usual name when set ("adapter_0.pt")
  std::string config_json;  // written instead of the generated adapter_config.json when set
  std::function<void(std::vector<LoraTestTensor>&)> mutate;
};

// Meta row m of a head of head_dim rows is HF row (m % 2) * head_dim / 2 + m / 2 (the permutation
// transformers' converter applies), written out here independently of the library.
inline std::size_t test_hf_row(std::size_t meta_row, std::size_t head_dim) {
  const std::size_t head = meta_row / head_dim, within = meta_row % head_dim;
  return head * head_dim + (within % 2) * (head_dim / 2) + within / 2;
}

inline std::filesystem::path write_lora_adapter(const std::filesystem::path& folder,
                                                const ModelConfig& config,
                                                const LoraTestSpec& spec) {
  std::filesystem::create_directories(folder);
  std::uint64_t state = spec.seed * 0x9e3779b97f4a7c15ull + 1;
  const auto uniform = [&state] {  // in [-1, 1), the same on every platform
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>(static_cast<double>(state >> 11) * 0x1.0p-52 - 1.0);
  };
  const auto r = static_cast<std::uint64_t>(spec.rank);
  const auto dim = static_cast<std::uint64_t>(config.dim);
  const auto q_dim = static_cast<std::uint64_t>(config.n_heads * config.head_dim);
  const auto kv_dim = static_cast<std::uint64_t>(config.n_kv_heads * config.head_dim);
  const auto ffn = static_cast<std::uint64_t>(config.ffn_dim);
  std::vector<LoraTestTensor> tensors;
  for (int layer = 0; layer < config.n_layers; ++layer) {
    for (const auto& module : lora_modules()) {
      const std::string target = module.target;
      if (std::find(spec.targets.begin(), spec.targets.end(), target) == spec.targets.end()) {
        continue;
      }
      const std::uint64_t out = target == "q_proj"                             ? q_dim
                                : target == "k_proj" || target == "v_proj"     ? kv_dim
                                : target == "gate_proj" || target == "up_proj" ? ffn
                                                                               : dim;
      const std::uint64_t in = target == "o_proj" ? q_dim : target == "down_proj" ? ffn : dim;
      // A ~ U(-1, 1) / sqrt(in), so A·x stays O(|x|); B sets the update's size.
      LoraTestTensor a{"", {r, in}, std::vector<float>(r * in)};
      for (auto& v : a.values) v = uniform() * std::sqrt(3.0f / static_cast<float>(in));
      LoraTestTensor b{"", {out, r}, std::vector<float>(out * r)};
      for (auto& v : b.values) v = uniform() * spec.b_stddev * std::sqrt(3.0f);
      const bool rotated = target == "q_proj" || target == "k_proj";
      if (spec.torchtune && !spec.rows_as_peft &&
          rotated) {  // the same update with B's rows in Meta's order
        std::vector<float> meta(b.values.size());
        const auto head_dim = static_cast<std::size_t>(config.head_dim);
        for (std::size_t row = 0; row < out; ++row) {
          std::memcpy(&meta[row * r], &b.values[test_hf_row(row, head_dim) * r], r * 4);
        }
        b.values = std::move(meta);
      }
      const std::string prefix =
          spec.torchtune
              ? "layers." + std::to_string(layer) + "." + module.torchtune
              : "base_model.model.model.layers." + std::to_string(layer) + "." + module.peft;
      a.name = prefix + (spec.torchtune ? ".lora_a.weight" : ".lora_A.weight");
      b.name = prefix + (spec.torchtune ? ".lora_b.weight" : ".lora_B.weight");
      tensors.push_back(std::move(a));
      tensors.push_back(std::move(b));
    }
  }
  if (spec.mutate) spec.mutate(tensors);

  if (spec.container == LoraTestContainer::kTorchSave) {
    std::vector<io::PytorchTensorToWrite> pickled;
    for (const auto& tensor : tensors) {
      const auto* bytes = reinterpret_cast<const std::byte*>(tensor.values.data());
      pickled.push_back({tensor.name,
                         io::TorchDtype::kF32,
                         tensor.shape,
                         {bytes, bytes + tensor.values.size() * sizeof(float)}});
    }
    const std::string name = !spec.file_name.empty() ? spec.file_name
                             : spec.torchtune        ? "adapter_model.pt"
                                                     : "adapter_model.bin";
    // torch.save names the zip's folder after the file.
    const auto bytes =
        io::pytorch_checkpoint_bytes(pickled, std::filesystem::path(name).stem().string());
    std::ofstream(folder / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  } else {
    io::SafetensorsWriter writer;
    for (const auto& tensor : tensors) {
      writer.add_tensor(tensor.name, io::SafetensorsDtype::kF32, tensor.shape);
    }
    writer.write(folder / (spec.file_name.empty() ? "adapter_model.safetensors" : spec.file_name),
                 [&](std::size_t index, std::vector<std::byte>& out) {
                   const auto& values = tensors[index].values;
                   const std::size_t start = out.size();
                   out.resize(start + values.size() * sizeof(float));
                   std::memcpy(out.data() + start, values.data(), values.size() * sizeof(float));
                 });
  }
  std::string config_json = spec.config_json;
  if (config_json.empty()) {
    config_json = "{\"peft_type\": \"LORA\", \"r\": " + std::to_string(spec.rank) +
                  ", \"lora_alpha\": " + std::to_string(spec.alpha) +
                  ", \"use_rslora\": " + (spec.rslora ? "true" : "false") +
                  ", \"bias\": \"none\", \"target_modules\": [";
    // torchtune's recipes list their own module names (output_proj, w1, w2, w3); its HF
    // checkpointer maps them to PEFT's when it exports.
    const bool torchtune_modules =
        spec.torchtune && spec.container == LoraTestContainer::kTorchSave;
    for (std::size_t i = 0; i < spec.targets.size(); ++i) {
      std::string module = spec.targets[i];
      for (const auto& known : lora_modules()) {
        const std::string path = known.torchtune;
        if (torchtune_modules && module == known.target) module = path.substr(path.find('.') + 1);
      }
      config_json += (i ? ", \"" : "\"") + module + "\"";
    }
    config_json += "]}";
  }
  std::ofstream(folder / "adapter_config.json") << config_json;
  return folder;
}

}  // namespace llama3::testing
