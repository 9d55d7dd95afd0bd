// TokenMaskCache: keys from stack tops, and the trie walk that fills an entry.
#include "grammar/token_masks.hpp"

namespace llama3::grammar {
namespace {

struct TrieWalk {
  const VocabTrie& vocab;
  Pushdown& pushdown;
  MaskEntry& entry;
  std::vector<std::vector<StackId>> levels;  // parse positions after each depth's byte

  void allow(std::int32_t id) {
    entry.allowed[static_cast<std::size_t>(id) >> 6] |= std::uint64_t{1} << (id & 63);
  }

  // Visits the children of `node`, whose parse positions are levels[depth]. `uncertain`: some
  // path above already needed the stack below the key.
  void visit(std::uint32_t node, std::size_t depth, bool uncertain) {
    const auto& nodes = vocab.nodes();
    const auto ids = vocab.sorted_ids();
    if (levels.size() <= depth + 1) levels.resize(depth + 2);
    for (std::uint32_t child = node + 1; child < nodes[node].subtree_end;
         child = nodes[child].subtree_end) {
      const auto& c = nodes[child];
      bool touched_bottom = false;
      pushdown.advance(levels[depth], c.byte, levels[depth + 1], touched_bottom);
      const bool child_uncertain = uncertain || touched_bottom;
      if (levels[depth + 1].empty()) {
        if (child_uncertain) {
          entry.uncertain.insert(entry.uncertain.end(), ids.begin() + c.token_begin,
                                 ids.begin() + c.token_end);
        }
        continue;
      }
      for (std::uint32_t i = c.token_begin; i < c.here_end; ++i) allow(ids[i]);
      visit(child, depth + 1, child_uncertain);
    }
  }
};

}  // namespace

TokenMaskCache::TokenMaskCache(std::shared_ptr<const GrammarIr> grammar,
                               std::shared_ptr<const VocabTrie> vocab)
    : grammar_(std::move(grammar)), vocab_(std::move(vocab)) {}

std::size_t TokenMaskCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::shared_ptr<const MaskEntry> TokenMaskCache::entry_for(const StackPool& pool,
                                                           StackId stack) const {
  std::vector<std::uint32_t> top_first;
  StackId s = stack;
  while (s != kAccepted && top_first.size() < kMaskContextDepth) {
    top_first.push_back(pool.top(s));
    s = pool.below(s);
  }
  const bool complete = s == kAccepted;
  std::string key(reinterpret_cast<const char*>(top_first.data()),
                  top_first.size() * sizeof(std::uint32_t));
  key += complete ? 'c' : 'p';
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(key); it != entries_.end()) return it->second;
  }
  // Computed outside the lock: two threads may both compute a new key; both results are equal.
  auto entry = compute(top_first, complete);
  std::lock_guard lock(mutex_);
  if (entries_.size() >= kMaxCachedMasks) entries_.clear();
  entries_.emplace(std::move(key), entry);
  return entry;
}

std::shared_ptr<const MaskEntry> TokenMaskCache::compute(
    const std::vector<std::uint32_t>& top_first, bool complete) const {
  auto entry = std::make_shared<MaskEntry>();
  entry->allowed.assign((vocab_->n_vocab() + 63) / 64, 0);
  Pushdown pushdown(*grammar_);
  StackId stack = complete ? kAccepted : kBottom;
  for (auto it = top_first.rbegin(); it != top_first.rend(); ++it) {
    stack = pushdown.pool().push(stack, *it);
  }
  TrieWalk walk{*vocab_, pushdown, *entry, {{stack}}};
  walk.visit(0, 0, false);
  return entry;
}

}  // namespace llama3::grammar
