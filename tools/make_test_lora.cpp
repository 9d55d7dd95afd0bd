// make_test_lora: writes a LoRA adapter with random weights in PEFT's layout (adapter_config.json +
// adapter_model.safetensors) for a model, for benchmarks and manual tests (docs/lora.md).
//
//   make_test_lora --model MODEL --out DIR [--rank R] [--alpha A] [--targets q_proj,k_proj,...]
//                  [--torchtune] [--torch-save] [--seed N]
//
// --torchtune names the tensors the torchtune way (q/k rows of B in Meta's order); --torch-save
// writes a torch.save zip instead of safetensors (adapter_model.pt with --torchtune, as torchtune
// saves it, else adapter_model.bin, as PEFT's pickle).
// The tensors have the model's shapes (its config is read, its weights are not used); A ~ U(-1, 1)
// / sqrt(in), B ~ U with standard deviation 0.05. --targets defaults to all seven.
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>

#include "llama3/error.hpp"
#include "llama3/model.hpp"
#include "support/lora_test_adapters.hpp"

int main(int argc, char** argv) {
  std::string model_path, out_dir;
  llama3::testing::LoraTestSpec spec;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--model") {
        model_path = value();
      } else if (arg == "--out") {
        out_dir = value();
      } else if (arg == "--rank") {
        spec.rank = std::stoi(value());
      } else if (arg == "--alpha") {
        spec.alpha = std::stod(value());
      } else if (arg == "--seed") {
        spec.seed = std::stoull(value());
      } else if (arg == "--torchtune") {
        spec.torchtune = true;
      } else if (arg == "--torch-save") {
        spec.container = llama3::testing::LoraTestContainer::kTorchSave;
      } else if (arg == "--targets") {
        spec.targets.clear();
        std::istringstream list(value());
        for (std::string target; std::getline(list, target, ',');) spec.targets.push_back(target);
      } else {
        throw std::runtime_error("unknown option " + arg);
      }
    } catch (const std::exception& error) {
      std::fprintf(stderr,
                   "make_test_lora: %s\nusage: make_test_lora --model MODEL --out DIR [--rank R] "
                   "[--alpha A] [--targets q_proj,...] [--torchtune] [--torch-save] [--seed N]\n",
                   error.what());
      return 2;
    }
  }
  if (model_path.empty() || out_dir.empty() || spec.rank < 1) {
    std::fprintf(stderr, "make_test_lora: give --model, --out and a rank >= 1\n");
    return 2;
  }
  try {
    llama3::LoadOptions load;
    load.repack_weights = false;
    const auto model = llama3::Model::load(model_path, load);
    llama3::testing::write_lora_adapter(out_dir, model.config(), spec);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "make_test_lora: %s\n", error.what());
    return 1;
  }
  std::printf("wrote %s (rank %d)\n", out_dir.c_str(), spec.rank);
  return 0;
}
