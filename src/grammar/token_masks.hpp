// Token masks: which vocabulary entries a parse position allows next.
//
// Checking 128K tokens against the grammar at every step would cost milliseconds. Instead, as
// XGrammar and llguidance describe, most tokens are decided by the top of the parse stack alone: a
// token is allowed if the grammar can consume all its bytes without returning below the top
// entries of the stack, and rejected if every path fails before reaching below them. Only tokens
// that need what lies below ("uncertain") are checked against the full stack when used. So a mask
// entry is keyed by the top entries of a stack, computed once by walking the vocabulary trie
// (MaskWalker), and shared by every sequence that uses the grammar (the cache is thread-safe).
//
// A key starts with the top kMaskContextDepth entries. When that leaves many tokens uncertain, the
// entry says so and the key doubles in depth (up to kMaxMaskContextDepth), because each uncertain
// token costs a check over the full stack on every use; a key that holds the whole stack leaves
// none. precompute() fills the entries of every stack reachable from the start (within a time
// budget), so that for a grammar without unbounded nesting no mask is ever computed while sampling.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "grammar/mask_walk.hpp"
#include "grammar/pushdown.hpp"
#include "grammar/vocab_trie.hpp"

namespace llama3::grammar {

// How many stack entries key a mask at first. Deeper keys decide more tokens up front (fewer
// uncertain ones) but make more distinct keys to compute.
inline constexpr std::size_t kMaskContextDepth = 4;
inline constexpr std::size_t kMaxMaskContextDepth = 16;
// An entry with more uncertain tokens than this asks for a deeper key.
inline constexpr std::size_t kMaxUncertainTokens = 64;
// Past this many cached entries (each n_vocab bits) the cache starts over.
inline constexpr std::size_t kMaxCachedMasks = 4096;

struct CachedMask {
  MaskEntry entry;
  bool use_deeper_key = false;  // look up a key twice as deep instead (entry may then be empty)
};

struct MaskKey {
  std::array<std::uint32_t, kMaxMaskContextDepth> top_first{};  // [depth] used, rest 0
  std::uint8_t depth = 0;
  bool complete = false;  // the stack holds only these entries (kAccepted below)
  bool operator==(const MaskKey&) const = default;
};

class TokenMaskCache {
 public:
  TokenMaskCache(std::shared_ptr<const GrammarIr> grammar, std::shared_ptr<const VocabTrie> vocab);
  ~TokenMaskCache();

  // The entry for the stack `stack` of `pool` (its top is a byte set).
  std::shared_ptr<const MaskEntry> entry_for(const StackPool& pool, StackId stack) const;

  // Computes the entries of the stacks reachable from the grammar's start, nearest first, until
  // they are all done (returns true) or `budget` has passed (returns false; the rest stay lazy).
  bool precompute(std::chrono::steady_clock::duration budget);

  std::size_t size() const;

 private:
  struct KeyHash {
    std::size_t operator()(const MaskKey& key) const;
  };
  std::shared_ptr<const CachedMask> cached(const MaskKey& key) const;

  std::shared_ptr<const GrammarIr> grammar_;
  std::shared_ptr<const VocabTrie> vocab_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<MaskKey, std::shared_ptr<const CachedMask>, KeyHash> entries_;
  // Walkers not in use: a thread takes one (or makes one) for a walk and gives it back, so the
  // memoized states carry over from walk to walk without sharing a walker between threads.
  mutable std::vector<std::unique_ptr<MaskWalker>> idle_walkers_;
};

}  // namespace llama3::grammar
