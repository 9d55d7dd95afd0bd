// Memory checked before it is allocated: a session's KV cache and scratch for its context, against
// the memory the machine (or its cgroup) can still give. An impossible n_ctx fails at once with a
// message naming what was asked and what there is, instead of an allocation failure, an OOM kill,
// or a cache whose pages fail one by one as the context fills.
#pragma once

#include <cstdint>

#include "llama3/model.hpp"
#include "llama3/session.hpp"

namespace llama3::runtime {

// Bytes a session of `n_ctx` positions needs: the KV cache (K and V, every layer and KV head) plus
// the forward pass's scratch for a batch of `max_batch` tokens and the logits of every position of
// one batch.
std::uint64_t session_memory_bytes(const ModelConfig& config, int n_ctx, KvCacheType type,
                                   int max_batch);

// kOutOfMemory naming n_ctx, the bytes it needs and the bytes available, when they do not fit.
void check_session_memory(const ModelConfig& config, int n_ctx, KvCacheType type, int max_batch);

}  // namespace llama3::runtime
