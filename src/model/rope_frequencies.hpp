// Rotary position embedding frequencies, including Llama 3.1's long-context scaling (docs/facts.md
// §1).
#pragma once

#include <span>
#include <vector>

namespace llama3::model {

// Parameters of the "llama3" rope_scaling of a Hugging Face config (3.1: factor 8, 3.2: factor 32).
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_context = 8192.0;
};

// The per-frequency divisors that GGUF stores as rope_freqs.weight: 1 for high frequencies,
// `factor` for low ones, a smooth blend between.  [head_dim / 2]
std::vector<float> llama3_rope_divisors(int head_dim, double theta,
                                        const Llama3RopeScaling& scaling);

// inv_freq[i] = theta^(-2i/head_dim) / divisor[i] (divisors empty: all 1).  [head_dim / 2]
std::vector<double> rope_inverse_frequencies(int head_dim, double theta,
                                             std::span<const float> divisors);

}  // namespace llama3::model
