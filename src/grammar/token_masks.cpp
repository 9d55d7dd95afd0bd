// TokenMaskCache: keys from stack tops, deeper keys where needed, and the compile-time precompute.
#include "grammar/token_masks.hpp"

#include <deque>

namespace llama3::grammar {
namespace {

// The precompute stops after this many stacks even within its time budget (recursive grammars
// reach new stacks without end; their keys repeat), and before filling half the cache, which
// starts over when full.
constexpr std::size_t kMaxPrecomputedStacks = std::size_t{1} << 16;

MaskKey key_of(const StackPool& pool, StackId stack, std::size_t depth) {
  MaskKey key;
  StackId s = stack;
  while (s != kAccepted && key.depth < depth) {
    key.top_first[key.depth++] = pool.top(s);
    s = pool.below(s);
  }
  key.complete = s == kAccepted;
  return key;
}

}  // namespace

std::size_t TokenMaskCache::KeyHash::operator()(const MaskKey& key) const {
  std::uint64_t h = (std::uint64_t{key.depth} << 1) | (key.complete ? 1 : 0);
  for (std::size_t i = 0; i < key.depth; ++i) h = (h ^ key.top_first[i]) * 0x9E3779B97F4A7C15ULL;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

TokenMaskCache::TokenMaskCache(std::shared_ptr<const GrammarIr> grammar,
                               std::shared_ptr<const VocabTrie> vocab)
    : grammar_(std::move(grammar)), vocab_(std::move(vocab)) {}

TokenMaskCache::~TokenMaskCache() = default;

std::size_t TokenMaskCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::shared_ptr<const CachedMask> TokenMaskCache::cached(const MaskKey& key) const {
  std::unique_ptr<MaskWalker> walker;
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(key); it != entries_.end()) return it->second;
    if (!idle_walkers_.empty()) {
      walker = std::move(idle_walkers_.back());
      idle_walkers_.pop_back();
    }
  }
  // Walked outside the lock: two threads may both compute a new key; both results are equal.
  if (!walker) walker = std::make_unique<MaskWalker>(*grammar_, *vocab_);
  auto mask = std::make_shared<CachedMask>();
  mask->entry = walker->walk(std::span(key.top_first.data(), key.depth), key.complete);
  if (mask->entry.uncertain.size() > kMaxUncertainTokens && !key.complete &&
      key.depth < kMaxMaskContextDepth) {
    mask->use_deeper_key = true;
    mask->entry = {};  // never read: the deeper key's entry is used instead
  }
  std::lock_guard lock(mutex_);
  idle_walkers_.push_back(std::move(walker));
  if (entries_.size() >= kMaxCachedMasks) entries_.clear();
  return entries_.emplace(key, std::move(mask)).first->second;
}

std::shared_ptr<const MaskEntry> TokenMaskCache::entry_for(const StackPool& pool,
                                                           StackId stack) const {
  for (std::size_t depth = kMaskContextDepth;; depth *= 2) {
    auto mask = cached(key_of(pool, stack, depth));
    if (!mask->use_deeper_key) return std::shared_ptr<const MaskEntry>(mask, &mask->entry);
  }
}

bool TokenMaskCache::precompute(std::chrono::steady_clock::duration budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  Pushdown pushdown(*grammar_);
  std::vector<StackId> next;
  pushdown.start(grammar_->root, kAccepted, next);
  std::vector<bool> seen(pushdown.pool().size());
  std::deque<StackId> queue;
  auto enqueue = [&](StackId stack) {
    if (stack >= seen.size()) seen.resize(std::size_t{stack} * 2 + 1);
    if (seen[stack]) return;
    seen[stack] = true;
    queue.push_back(stack);
  };
  for (StackId stack : next) enqueue(stack);
  std::size_t visited = 0;
  while (!queue.empty()) {
    if (visited == kMaxPrecomputedStacks || size() >= kMaxCachedMasks / 2 ||
        std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    const StackId stack = queue.front();
    queue.pop_front();
    ++visited;
    if (stack == kAccepted) continue;
    entry_for(pushdown.pool(), stack);
    pushdown.after_top(stack, next);
    for (StackId s : next) enqueue(s);
  }
  return true;
}

}  // namespace llama3::grammar
