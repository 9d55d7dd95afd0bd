#include "runtime/memory_budget.hpp"

#include <string>

#include "io/system_memory.hpp"
#include "llama3/error.hpp"
#include "runtime/kv_cache.hpp"

namespace llama3::runtime {

std::uint64_t session_memory_bytes(const ModelConfig& config, int n_ctx, KvCacheType type,
                                   int max_batch) {
  const std::uint64_t kv = 2ull * static_cast<std::uint64_t>(config.n_layers) *
                           static_cast<std::uint64_t>(config.n_kv_heads) *
                           kv_row_bytes(type, static_cast<std::size_t>(config.head_dim)) *
                           static_cast<std::uint64_t>(n_ctx);
  const std::uint64_t q_dim = static_cast<std::uint64_t>(config.n_heads) * config.head_dim;
  const std::uint64_t kv_dim = static_cast<std::uint64_t>(config.n_kv_heads) * config.head_dim;
  const std::uint64_t per_token = 3ull * static_cast<std::uint64_t>(config.dim) + 2 * q_dim +
                                  2 * kv_dim + 2ull * static_cast<std::uint64_t>(config.ffn_dim) +
                                  static_cast<std::uint64_t>(config.head_dim) +
                                  static_cast<std::uint64_t>(config.n_vocab);
  return kv + per_token * static_cast<std::uint64_t>(max_batch) * sizeof(float);
}

void check_session_memory(const ModelConfig& config, int n_ctx, KvCacheType type, int max_batch) {
  const std::uint64_t needed = session_memory_bytes(config, n_ctx, type, max_batch);
  const auto available = io::available_memory_bytes();
  if (!available || needed <= *available) return;
  throw Error(ErrorCode::kOutOfMemory,
              "n_ctx " + std::to_string(n_ctx) + " needs " + io::gib_text(needed) +
                  " for the KV cache and scratch, but only " + io::gib_text(*available) +
                  " of memory is available (the model was trained for " +
                  std::to_string(config.context_length) + " positions)");
}

}  // namespace llama3::runtime
