// The library's own view of a Sampler beyond its public interface: speculative decoding draws its
// acceptance tests and residual samples from the sampler's generator, so a seed fixes the whole
// generation and successive generate() calls continue the stream as plain decoding does.
#pragma once

#include "llama3/sampler.hpp"

namespace llama3::detail {

struct SamplerAccess {
  // A uniform double in [0, 1) from the sampler's seeded generator (advances it).
  static double next_uniform(Sampler& sampler);
};

}  // namespace llama3::detail
