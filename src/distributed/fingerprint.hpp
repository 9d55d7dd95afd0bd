// What the ranks of a pipeline must agree on before they start: the same configuration, tokenizer,
// tensors (names, types, shapes, sizes) and run options. Each rank hashes its own view; rank by
// rank comparison then names what differs, instead of a wrong answer or a hang later.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "llama3/distributed.hpp"
#include "model/model_impl.hpp"

namespace llama3::distributed {

struct Fingerprint {
  std::uint64_t loaded = 0;     // 1 when the rank loaded its layers, 0 when it failed
  std::uint64_t config = 0;     // every ModelConfig field
  std::uint64_t tokenizer = 0;  // vocabulary pieces, kinds and special ids (0: none)
  std::uint64_t tensors = 0;    // every tensor's name, type, shape and byte size
  std::uint64_t options = 0;    // n_ctx, KV type, split, n_ranks
  static constexpr int kFields = 5;
};

// The fingerprint of a rank that failed to load: only `loaded` is meaningful.
inline Fingerprint failed_fingerprint() {
  return {};
}

Fingerprint fingerprint(const detail::ModelImpl& model, const PipelineOptions& options,
                        int n_ranks);

// Empty when every rank agrees with rank 0; otherwise one sentence naming the first rank that
// differs and what it differs in (or which rank failed to load).
std::string describe_disagreement(std::span<const Fingerprint> by_rank);

}  // namespace llama3::distributed
