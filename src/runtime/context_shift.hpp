// Dropping a run of positions from a KV cache (a session's context shift, and each rank's share of
// it in the MPI pipeline).
#pragma once

#include "model/model_impl.hpp"
#include "runtime/kv_cache.hpp"

namespace llama3::runtime {

// Drops positions [n_keep, n_keep + n_discard) from every layer of `cache`: the `n_moved` positions
// after them slide down by n_discard, and their keys are rotated back by as many positions with
// `model`'s RoPE (rotations compose exactly; only f16 rounding differs from a fresh decode). The
// caller has checked that n_keep + n_discard + n_moved fits the cache.
void discard_positions(KvCache& cache, const detail::ModelImpl& model, int n_keep, int n_discard,
                       int n_moved);

}  // namespace llama3::runtime
