// The trie walk that fills a token mask entry: every vocabulary token is run through the grammar
// from a stack whose top entries are known and whose rest is opaque (kBottom), sharing the work
// over common prefixes through the VocabTrie.
//
// A walk meets the same sets of parse positions over and over (inside a JSON string almost every
// byte leads back to the same set), so the walker interns each set it meets as a state and memoizes
// its byte transitions: a lazily built DFA over position sets. Stepping over a trie edge is then
// one table lookup instead of a pushdown step (expansion, hash-consing, sorting). The states and
// their transitions stay valid from one walk to the next, so a walker that fills many entries (the
// masks precomputed when a grammar is compiled) gets faster as it goes.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "grammar/pushdown.hpp"
#include "grammar/vocab_trie.hpp"

namespace llama3::grammar {

// The allowed tokens are kept as the non-zero 64-bit words of a bitset over token ids (bit i of
// word w is token 64 * w + i): most masks allow a few tokens, so this is a small fraction of the
// 16 KiB full bitset, and a grammar keeps hundreds of masks.
struct MaskEntry {
  std::vector<std::uint32_t> word_index;  // increasing
  std::vector<std::uint64_t> words;       // [word_index.size()], none zero
  std::vector<std::int32_t> uncertain;    // decided by the full stack at use, in trie order
};

class MaskWalker {
 public:
  MaskWalker(const GrammarIr& grammar, const VocabTrie& vocab);
  MaskWalker(const MaskWalker&) = delete;
  MaskWalker& operator=(const MaskWalker&) = delete;

  // The entry for the stack made of `top_first` (top first) over kAccepted when `complete`, else
  // over the opaque kBottom. The top must be a byte set.
  MaskEntry walk(std::span<const std::uint32_t> top_first, bool complete);

  std::size_t n_states() const { return positions_of_.size(); }

 private:
  using StateId = std::uint32_t;

  struct PositionsHash {
    std::size_t operator()(const std::vector<StackId>& positions) const;
  };

  StateId intern(const std::vector<StackId>& positions);
  StateId step(StateId state, std::uint8_t byte);
  void visit(std::uint32_t node, StateId state, bool uncertain, MaskEntry& entry);
  void reset();

  const GrammarIr* grammar_;
  const VocabTrie* vocab_;
  Pushdown pushdown_;
  std::unordered_map<std::vector<StackId>, StateId, PositionsHash> ids_;
  std::vector<const std::vector<StackId>*> positions_of_;  // [n_states] keys of ids_
  std::vector<std::uint8_t> reaches_bottom_;               // [n_states] the set holds kBottom
  std::vector<StateId> transitions_;                       // [n_states, 256], kUnknown if not met
  std::vector<StackId> scratch_;
  std::vector<std::uint64_t> allowed_;  // [ceil(n_vocab / 64)] the walk's bitset, reused
};

}  // namespace llama3::grammar
