// Token masks: which vocabulary entries a parse position allows next.
//
// Checking 128K tokens against the grammar at every step would cost milliseconds. Instead, as
// XGrammar and llguidance describe, most tokens are decided by the top of the parse stack alone: a
// token is allowed if the grammar can consume all its bytes without returning below the top
// `kMaskContextDepth` stack entries, and rejected if every path fails before reaching below them.
// Only tokens that need what lies below ("uncertain") are checked against the full stack when
// used. So a mask entry is keyed by the top entries of a stack, computed once by walking the
// vocabulary trie, and shared by every sequence that uses the grammar (the cache is thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "grammar/pushdown.hpp"
#include "grammar/vocab_trie.hpp"

namespace llama3::grammar {

// How many stack entries key a mask. Deeper keys decide more tokens up front (fewer uncertain ones)
// but make more distinct keys to compute.
inline constexpr std::size_t kMaskContextDepth = 4;
// Past this many cached entries (each n_vocab bits) the cache starts over.
inline constexpr std::size_t kMaxCachedMasks = 4096;

struct MaskEntry {
  std::vector<std::uint64_t> allowed;   // [ceil(n_vocab / 64)] bit per token id
  std::vector<std::int32_t> uncertain;  // decided by the full stack at use
};

class TokenMaskCache {
 public:
  TokenMaskCache(std::shared_ptr<const GrammarIr> grammar, std::shared_ptr<const VocabTrie> vocab);

  // The entry for the stack `stack` of `pool` (its top is a byte set).
  std::shared_ptr<const MaskEntry> entry_for(const StackPool& pool, StackId stack) const;
  std::size_t size() const;

 private:
  std::shared_ptr<const MaskEntry> compute(const std::vector<std::uint32_t>& top_first,
                                           bool complete) const;

  std::shared_ptr<const GrammarIr> grammar_;
  std::shared_ptr<const VocabTrie> vocab_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, std::shared_ptr<const MaskEntry>> entries_;
};

}  // namespace llama3::grammar
