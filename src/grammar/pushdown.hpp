// The byte-level pushdown matcher. A parse position is a stack of element positions (the element to
// match next on top, the places to return to below). Stacks are persistent and hash-consed in a
// StackPool: pushing onto a stack never copies it, and two equal stacks have the same id, so a set
// of parse positions is a small sorted vector of ids. Because the grammar is validated (no left
// recursion, every rule productive), expanding a stack always terminates and a live stack can
// always be completed.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "grammar/grammar_ir.hpp"

namespace llama3::grammar {

using StackId = std::uint32_t;
// The empty stack: the whole grammar has matched (an accepting position).
inline constexpr StackId kAccepted = 0;
// The opaque bottom of a partial stack (see TokenMaskCache): reaching it means "the rest depends on
// what lies below".
inline constexpr StackId kBottom = 1;

// Deeper stacks (a hostile grammar or input nesting without end) are an error, so walks over them
// stay within the thread's stack.
inline constexpr std::uint32_t kMaxStackDepth = 4000;

inline constexpr int kMaxExpansionDepth = 10000;

class StackPool {
 public:
  StackPool();
  StackId push(StackId below, std::uint32_t position);
  std::uint32_t top(StackId stack) const { return nodes_[stack].position; }
  StackId below(StackId stack) const { return nodes_[stack].below; }
  std::size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    std::uint32_t position;
    StackId below;
    std::uint32_t depth;
  };
  void grow_index();

  std::vector<Node> nodes_;
  // Open addressing over (below, position) -> id; 0 marks an empty slot (ids 0 and 1 are the
  // sentinels and never stored). Trie walks push millions of nodes, where a node-based map is slow.
  std::vector<StackId> index_;
};

// A limit on simultaneous parse positions, so a wildly ambiguous grammar fails clearly instead of
// growing without bound.
inline constexpr std::size_t kMaxParsePositions = 20000;

class Pushdown {
 public:
  explicit Pushdown(const GrammarIr& grammar) : grammar_(&grammar) {}

  StackPool& pool() { return pool_; }
  const GrammarIr& grammar() const { return *grammar_; }

  // The parse positions at the start of `rule` with `below` underneath, expanded so every stack
  // has a byte set on top (or is kAccepted / kBottom). Sorted, no duplicates.
  void start(std::uint32_t rule, StackId below, std::vector<StackId>& out);
  // Positions after matching byte `b` from `from` (sorted, unique). kAccepted and kBottom stacks
  // cannot take a byte and vanish; `touched_bottom` is set when one was present in `from`.
  void advance(std::span<const StackId> from, std::uint8_t b, std::vector<StackId>& out,
               bool& touched_bottom);
  // Positions after one byte of the byte set on top of `stack` matched (sorted, unique). Which byte
  // it was does not matter: a byte set either takes a byte or not, and what follows is the same.
  void after_top(StackId stack, std::vector<StackId>& out);
  // The stack with `position` pushed on `below`, expanded.
  void expand_push(StackId below, std::uint32_t position, std::vector<StackId>& out);
  // Forgets every stack not reachable from `keep`, renumbering `keep` in place.
  void compact(std::vector<StackId>& keep);

 private:
  void expand(StackId stack, std::vector<StackId>& out, int depth);
  // The stack that continues after the element at `position` on `below` was matched.
  StackId continue_after(StackId below, std::uint32_t position);
  static void sort_unique(std::vector<StackId>& stacks);

  const GrammarIr* grammar_;
  StackPool pool_;
};

}  // namespace llama3::grammar
