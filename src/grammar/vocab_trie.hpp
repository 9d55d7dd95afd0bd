// A byte trie over a vocabulary: tokens that share a prefix share the walk over it, so checking the
// whole vocabulary against a grammar costs one step per trie node rather than per token byte.
// Nodes are stored in depth-first order, so a node's subtree is a contiguous run of nodes and the
// tokens below it a contiguous run of the sorted token list.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llama3::grammar {

class VocabTrie {
 public:
  struct Node {
    std::uint32_t subtree_end = 0;  // index of the first node after this one's subtree
    std::uint32_t token_begin = 0;  // the subtree's tokens: sorted_ids()[token_begin, token_end)
    std::uint32_t token_end = 0;
    std::uint32_t here_end = 0;  // sorted_ids()[token_begin, here_end) end exactly at this node
    std::uint8_t byte = 0;       // the edge into this node (unused for the root)
  };

  // `tokens`: (id, bytes) pairs; tokens with no bytes are left out. `n_vocab` bounds the ids.
  VocabTrie(std::vector<std::pair<std::int32_t, std::string>> tokens, std::size_t n_vocab);

  const std::vector<Node>& nodes() const { return nodes_; }
  std::span<const std::int32_t> sorted_ids() const { return sorted_ids_; }
  std::string_view bytes_of(std::int32_t id) const { return bytes_[static_cast<std::size_t>(id)]; }
  std::size_t n_vocab() const { return bytes_.size(); }

 private:
  void build(std::span<const std::pair<std::int32_t, std::string>> tokens, std::size_t depth,
             std::uint32_t begin, std::uint8_t byte);

  std::vector<Node> nodes_;               // [0] is the root
  std::vector<std::int32_t> sorted_ids_;  // token ids in byte order
  std::vector<std::string> bytes_;        // [n_vocab], empty for tokens left out
};

}  // namespace llama3::grammar
