// VocabTrie construction from the byte-sorted token list.
#include "grammar/vocab_trie.hpp"

#include <algorithm>

namespace llama3::grammar {

VocabTrie::VocabTrie(std::vector<std::pair<std::int32_t, std::string>> tokens, std::size_t n_vocab)
    : bytes_(n_vocab) {
  std::erase_if(tokens, [](const auto& token) { return token.second.empty(); });
  std::sort(tokens.begin(), tokens.end(), [](const auto& a, const auto& b) {
    return a.second < b.second || (a.second == b.second && a.first < b.first);
  });
  for (const auto& [id, bytes] : tokens) {
    sorted_ids_.push_back(id);
    bytes_[static_cast<std::size_t>(id)] = bytes;
  }
  build(tokens, 0, 0, 0);
}

// `tokens` all share their first `depth` bytes and start at sorted index `begin`.
void VocabTrie::build(std::span<const std::pair<std::int32_t, std::string>> tokens,
                      std::size_t depth, std::uint32_t begin, std::uint8_t byte) {
  const auto self = static_cast<std::uint32_t>(nodes_.size());
  nodes_.push_back({});
  std::size_t i = 0;
  while (i < tokens.size() && tokens[i].second.size() == depth) ++i;  // sorted: shortest first
  nodes_[self].byte = byte;
  nodes_[self].token_begin = begin;
  nodes_[self].here_end = begin + static_cast<std::uint32_t>(i);
  nodes_[self].token_end = begin + static_cast<std::uint32_t>(tokens.size());
  while (i < tokens.size()) {
    const char next = tokens[i].second[depth];
    std::size_t j = i;
    while (j < tokens.size() && tokens[j].second[depth] == next) ++j;
    build(tokens.subspan(i, j - i), depth + 1, begin + static_cast<std::uint32_t>(i),
          static_cast<std::uint8_t>(next));
    i = j;
  }
  nodes_[self].subtree_end = static_cast<std::uint32_t>(nodes_.size());
}

}  // namespace llama3::grammar
