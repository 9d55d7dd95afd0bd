#include "engine/prefix_cache.hpp"

#include <algorithm>

namespace llama3::engine {
namespace {

// splitmix64's finaliser: every input bit reaches every output bit.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

PrefixCache::Key PrefixCache::chain(Key parent, std::span<const TokenId> block_tokens) {
  Key key = mix(parent);
  for (TokenId id : block_tokens) key = mix(key ^ static_cast<std::uint32_t>(id));
  return key;
}

std::vector<BlockId> PrefixCache::lookup(std::span<const TokenId> tokens) {
  std::vector<BlockId> found;
  std::vector<Entry*> hits;
  Key parent = 0;
  for (std::size_t begin = 0; begin + kBlockPositions <= tokens.size(); begin += kBlockPositions) {
    const auto block_tokens = tokens.subspan(begin, kBlockPositions);
    const Key key = chain(parent, block_tokens);
    const auto it = entries_.find(key);
    if (it == entries_.end() || it->second.parent != parent ||
        !std::equal(block_tokens.begin(), block_tokens.end(), it->second.tokens.begin())) {
      break;
    }
    hits.push_back(&it->second);
    found.push_back(it->second.block);
    pool_.retain(it->second.block);
    parent = key;
  }
  // Most recent last-to-first, so a prefix's first blocks outlive its later ones: evicting a
  // parent would strand its children (their chain no longer reachable).
  for (auto it = hits.rbegin(); it != hits.rend(); ++it) {
    recency_.splice(recency_.begin(), recency_, (*it)->recency);
  }
  return found;
}

void PrefixCache::insert(std::span<const TokenId> tokens, std::span<const BlockId> blocks) {
  Key parent = 0;
  std::vector<std::list<Key>::iterator> touched;
  for (std::size_t i = 0; (i + 1) * kBlockPositions <= tokens.size() && i < blocks.size(); ++i) {
    const auto block_tokens = tokens.subspan(i * kBlockPositions, kBlockPositions);
    const Key key = chain(parent, block_tokens);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      Entry entry{blocks[i], parent, {}, recency_.end()};
      std::copy(block_tokens.begin(), block_tokens.end(), entry.tokens.begin());
      recency_.push_front(key);
      entry.recency = recency_.begin();
      it = entries_.emplace(key, entry).first;
      pool_.retain(blocks[i]);
    } else if (it->second.parent != parent ||
               !std::equal(block_tokens.begin(), block_tokens.end(), it->second.tokens.begin())) {
      return;  // a hash collision: the chain cannot continue past a key another prefix holds
    }
    touched.push_back(it->second.recency);
    parent = key;
  }
  for (auto it = touched.rbegin(); it != touched.rend(); ++it) {
    recency_.splice(recency_.begin(), recency_, *it);
  }
}

bool PrefixCache::evict_one() {
  for (auto it = recency_.rbegin(); it != recency_.rend(); ++it) {
    const auto entry = entries_.find(*it);
    if (pool_.ref_count(entry->second.block) != 1) continue;  // a sequence still reads it
    pool_.release(entry->second.block);
    recency_.erase(entry->second.recency);
    entries_.erase(entry);
    return true;
  }
  return false;
}

int PrefixCache::n_evictable() const {
  return static_cast<int>(std::count_if(entries_.begin(), entries_.end(), [&](const auto& entry) {
    return pool_.ref_count(entry.second.block) == 1;
  }));
}

void PrefixCache::clear() {
  for (const auto& [key, entry] : entries_) pool_.release(entry.block);
  entries_.clear();
  recency_.clear();
}

}  // namespace llama3::engine
