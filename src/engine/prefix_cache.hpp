// Full KV blocks of finished prompts, kept for reuse by later requests that start with the same
// tokens. A block is keyed by a hash chain: the hash of its 32 tokens combined with its parent
// block's key, so one key stands for the whole prefix up to the block's end. Entries also keep
// their tokens and parent key, and a lookup compares both, so a hash collision can never hand out
// a wrong block. The cache holds one pool reference per block; least-recently-used blocks that no
// sequence holds are evicted when the pool needs room.
//
// A reused block holds exactly the keys and values a fresh computation would store (same tokens,
// same positions, rows computed independently), so reuse is bit-identical.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/kv_pool.hpp"
#include "llama3/tokenizer.hpp"

namespace llama3::engine {

class PrefixCache {
 public:
  explicit PrefixCache(KvPool& pool) : pool_(pool) {}
  ~PrefixCache() { clear(); }
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  // The cached blocks of the longest run of full blocks `tokens` starts with, each retained once
  // for the caller (who releases them with the pool). Marks them recently used.
  std::vector<BlockId> lookup(std::span<const TokenId> tokens);

  // Caches the full blocks of `tokens` (blocks[i] holds positions [32 i, 32 i + 32)) that are not
  // cached yet, taking a reference to each.
  void insert(std::span<const TokenId> tokens, std::span<const BlockId> blocks);

  // Drops the least recently used block that only the cache holds, returning it to the pool.
  // False when every cached block is in use by a sequence (or the cache is empty).
  bool evict_one();

  int size() const { return static_cast<int>(entries_.size()); }
  // Blocks only the cache holds: free for the taking through evict_one().
  int n_evictable() const;
  void clear();

 private:
  using Key = std::uint64_t;
  using BlockTokens = std::array<TokenId, kBlockPositions>;
  struct Entry {
    BlockId block;
    Key parent;
    BlockTokens tokens;
    std::list<Key>::iterator recency;  // position in recency_
  };

  static Key chain(Key parent, std::span<const TokenId> block_tokens);

  KvPool& pool_;
  std::unordered_map<Key, Entry> entries_;
  std::list<Key> recency_;  // most recently used first
};

}  // namespace llama3::engine
