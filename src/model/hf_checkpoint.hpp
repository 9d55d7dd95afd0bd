// A Hugging Face Llama checkpoint folder, opened: config.json, the safetensors weights (one file or
// shards), the tokenizer.json tokenizer with config.json's bos/eos ids, and the optional
// generation_config.json and tokenizer_config.json chat template (docs/facts.md §5).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "io/hf_config.hpp"
#include "io/safetensors.hpp"
#include "llama3/model.hpp"
#include "llama3/tokenizer.hpp"
#include "model/weight_source.hpp"

namespace llama3::model {

struct HfCheckpoint {
  std::filesystem::path folder;
  io::HfConfig config;
  std::optional<io::HfGenerationConfig> generation;
  std::optional<std::string> chat_template;
  io::SafetensorsCheckpoint files;
  std::optional<Tokenizer> tokenizer;  // none when the folder has no tokenizer.json

  // Throws kIo for a missing config.json or weights, kBadFormat/kUnsupported from the parsers.
  static HfCheckpoint open(const std::filesystem::path& folder, const io::MapOptions& options = {});
};

// ModelConfig from config.json, checked against the tensors (vocab rows, tied output layer).
ModelConfig config_from_hf(const HfCheckpoint& checkpoint, const WeightSource& weights);

// rope_freqs divisors for the config's llama3 rope_scaling; empty when it has none.
std::vector<float> hf_rope_divisors(const io::HfConfig& config);

// generation_config.json's temperature, top_p and top_k (do_sample false: temperature 0).
GenerationDefaults hf_generation_defaults(const std::optional<io::HfGenerationConfig>& generation);

}  // namespace llama3::model
