// Which layers each rank of a pipeline runs.
#pragma once

#include <span>
#include <vector>

#include "llama3/distributed.hpp"

namespace llama3::distributed {

// Layers [first, last) per rank, in rank order, covering [0, n_layers) without gaps. `split` as
// PipelineOptions::split: empty for an even split (the first n_layers % n_ranks ranks take one
// more), layer counts that add up to n_layers, or positive shares of them (rounded at the
// cumulative boundaries). Throws kInvalidArgument when a rank would get no layer, the split names
// a different number of ranks, or a value is not a positive number.
std::vector<LayerSpan> split_layers(int n_layers, int n_ranks, std::span<const double> split);

}  // namespace llama3::distributed
