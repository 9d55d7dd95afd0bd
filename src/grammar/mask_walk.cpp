// MaskWalker: interned position sets, memoized transitions, and the depth-first trie walk.
#include "grammar/mask_walk.hpp"

#include <limits>

namespace llama3::grammar {
namespace {

constexpr std::uint32_t kUnknown = std::numeric_limits<std::uint32_t>::max();
// State 0 is the empty set: no parse position survived.
constexpr std::uint32_t kDead = 0;
// Past this many states (each with a 1 KiB transition row) the walker starts over before its next
// walk, so memory stays bounded for grammars whose walks keep meeting new sets.
constexpr std::size_t kMaxStates = std::size_t{1} << 13;

}  // namespace

std::size_t MaskWalker::PositionsHash::operator()(const std::vector<StackId>& positions) const {
  std::uint64_t h = positions.size();
  for (StackId id : positions) h = (h ^ id) * 0x9E3779B97F4A7C15ULL;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

MaskWalker::MaskWalker(const GrammarIr& grammar, const VocabTrie& vocab)
    : grammar_(&grammar), vocab_(&vocab), pushdown_(grammar) {
  reset();
}

void MaskWalker::reset() {
  pushdown_ = Pushdown(*grammar_);
  ids_.clear();
  positions_of_.clear();
  reaches_bottom_.clear();
  transitions_.clear();
  intern({});  // kDead
}

MaskWalker::StateId MaskWalker::intern(const std::vector<StackId>& positions) {
  const auto [it, inserted] = ids_.try_emplace(positions, static_cast<StateId>(ids_.size()));
  if (inserted) {
    positions_of_.push_back(&it->first);
    bool bottom = false;
    for (StackId id : positions) bottom = bottom || id == kBottom;
    reaches_bottom_.push_back(bottom ? 1 : 0);
    // The dead state's row stays kDead: nothing follows an empty set.
    transitions_.resize(transitions_.size() + 256, it->second == kDead ? kDead : kUnknown);
  }
  return it->second;
}

MaskWalker::StateId MaskWalker::step(StateId state, std::uint8_t byte) {
  const std::size_t slot = std::size_t{state} * 256 + byte;
  if (transitions_[slot] != kUnknown) return transitions_[slot];
  bool touched_bottom = false;
  pushdown_.advance(*positions_of_[state], byte, scratch_, touched_bottom);
  const StateId next = intern(scratch_);
  transitions_[slot] = next;  // after intern(), which may have grown the table
  return next;
}

MaskEntry MaskWalker::walk(std::span<const std::uint32_t> top_first, bool complete) {
  if (positions_of_.size() > kMaxStates) reset();
  MaskEntry entry;
  allowed_.assign((vocab_->n_vocab() + 63) / 64, 0);
  StackId stack = complete ? kAccepted : kBottom;
  for (auto it = top_first.rbegin(); it != top_first.rend(); ++it) {
    stack = pushdown_.pool().push(stack, *it);
  }
  visit(0, intern({stack}), false, entry);
  for (std::size_t w = 0; w < allowed_.size(); ++w) {
    if (allowed_[w] == 0) continue;
    entry.word_index.push_back(static_cast<std::uint32_t>(w));
    entry.words.push_back(allowed_[w]);
  }
  return entry;
}

// Visits the children of trie node `node`, reached in `state`. `uncertain`: some path above already
// reached the opaque bottom, so a token that dies below still depends on the full stack.
void MaskWalker::visit(std::uint32_t node, StateId state, bool uncertain, MaskEntry& entry) {
  const VocabTrie::Node* nodes = vocab_->nodes().data();
  const std::int32_t* ids = vocab_->sorted_ids().data();
  std::uint64_t* allowed = allowed_.data();
  const bool child_uncertain = uncertain || reaches_bottom_[state] != 0;
  const std::uint32_t end = nodes[node].subtree_end;
  for (std::uint32_t child = node + 1; child < end; child = nodes[child].subtree_end) {
    const VocabTrie::Node& c = nodes[child];
    const StateId next = step(state, c.byte);
    if (next == kDead) {
      if (child_uncertain) {
        entry.uncertain.insert(entry.uncertain.end(), ids + c.token_begin, ids + c.token_end);
      }
      continue;
    }
    for (std::uint32_t i = c.token_begin; i < c.here_end; ++i) {
      const auto id = static_cast<std::uint32_t>(ids[i]);
      allowed[id >> 6] |= std::uint64_t{1} << (id & 63);
    }
    if (c.subtree_end > child + 1) visit(child, next, child_uncertain, entry);
  }
}

}  // namespace llama3::grammar
