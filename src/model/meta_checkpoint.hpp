// A Meta checkpoint folder, opened: params.json, the consolidated.NN.pth shards (read by our own
// torch.save reader, io/pytorch_checkpoint.hpp) and the optional tokenizer.model
// (docs/meta-checkpoints.md).
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "io/meta_params.hpp"
#include "io/pytorch_checkpoint.hpp"
#include "llama3/model.hpp"
#include "llama3/tokenizer.hpp"
#include "model/weight_source.hpp"

namespace llama3::model {

struct MetaCheckpoint {
  std::filesystem::path folder;
  io::MetaParams params;
  std::vector<io::PytorchCheckpoint> shards;  // consolidated.00.pth, .01, ... in order
  std::optional<Tokenizer> tokenizer;         // none when the folder has no tokenizer.model

  // Throws kIo for a missing params.json or consolidated.00.pth, kBadFormat from the parsers and
  // for shard numbers with a gap.
  static MetaCheckpoint open(const std::filesystem::path& folder,
                             const io::MapOptions& options = {});
};

// Whether `folder` holds a Meta checkpoint: params.json and consolidated.00.pth, and no
// config.json (a Hugging Face folder wins when both are present).
bool is_meta_checkpoint_folder(const std::filesystem::path& folder);

// ModelConfig from params.json, checked against the tensors (vocab rows, FFN size, tied output).
ModelConfig config_from_meta(const MetaCheckpoint& checkpoint, const WeightSource& weights);

// rope_freqs divisors for use_scaled_rope; empty without it.
std::vector<float> meta_rope_divisors(const io::MetaParams& params);

}  // namespace llama3::model
