// Pushdown: expansion of rule calls and one-byte steps over sets of persistent stacks.
#include "grammar/pushdown.hpp"

#include <algorithm>
#include <string>

#include <unordered_map>

#include "llama3/error.hpp"

namespace llama3::grammar {

namespace {
std::size_t slot_of(StackId below, std::uint32_t position, std::size_t mask) {
  std::uint64_t h = (std::uint64_t{below} << 32) | position;
  h *= 0x9E3779B97F4A7C15ULL;
  return static_cast<std::size_t>(h >> 20) & mask;
}
}  // namespace

StackPool::StackPool() : index_(1024, 0) {
  nodes_.push_back({0, kAccepted, 0});  // kAccepted
  nodes_.push_back({0, kBottom, 0});    // kBottom
}

void StackPool::grow_index() {
  std::vector<StackId> bigger(index_.size() * 2, 0);
  const std::size_t mask = bigger.size() - 1;
  for (StackId id = 2; id < nodes_.size(); ++id) {
    std::size_t slot = slot_of(nodes_[id].below, nodes_[id].position, mask);
    while (bigger[slot] != 0) slot = (slot + 1) & mask;
    bigger[slot] = id;
  }
  index_ = std::move(bigger);
}

StackId StackPool::push(StackId below, std::uint32_t position) {
  const std::size_t mask = index_.size() - 1;
  std::size_t slot = slot_of(below, position, mask);
  while (index_[slot] != 0) {
    const Node& node = nodes_[index_[slot]];
    if (node.below == below && node.position == position) return index_[slot];
    slot = (slot + 1) & mask;
  }
  const std::uint32_t depth = nodes_[below].depth + 1;
  if (depth > kMaxStackDepth) {
    throw Error(ErrorCode::kInvalidArgument,
                "grammar: input nested deeper than " + std::to_string(kMaxStackDepth) + " rules");
  }
  const auto id = static_cast<StackId>(nodes_.size());
  nodes_.push_back({position, below, depth});
  index_[slot] = id;
  if (nodes_.size() * 2 > index_.size()) grow_index();
  return id;
}

void Pushdown::sort_unique(std::vector<StackId>& stacks) {
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  if (stacks.size() > kMaxParsePositions) {
    throw Error(ErrorCode::kInvalidArgument,
                "grammar: more than " + std::to_string(kMaxParsePositions) +
                    " simultaneous parse positions; the grammar is too ambiguous");
  }
}

StackId Pushdown::continue_after(StackId below, std::uint32_t position) {
  return grammar_->elements[position + 1].kind == ElementKind::kEnd
             ? below
             : pool_.push(below, position + 1);
}

void Pushdown::expand(StackId stack, std::vector<StackId>& out, int depth) {
  // Without left recursion each level either enters a new rule or pops a stack entry, so the depth
  // is finite; a chain of thousands of rules is refused rather than risking the thread's stack.
  if (depth > kMaxExpansionDepth) {
    throw Error(ErrorCode::kInvalidArgument, "grammar: rules call each other more than " +
                                                 std::to_string(kMaxExpansionDepth) +
                                                 " deep before matching a byte");
  }
  if (stack == kAccepted || stack == kBottom) {
    out.push_back(stack);
    return;
  }
  const std::uint32_t position = pool_.top(stack);
  const Element& element = grammar_->elements[position];
  if (element.kind == ElementKind::kBytes) {
    out.push_back(stack);
    return;
  }
  const StackId rest = continue_after(pool_.below(stack), position);
  for (std::uint32_t start : grammar_->rules[element.index].alternatives) {
    if (grammar_->elements[start].kind == ElementKind::kEnd) {
      expand(rest, out, depth + 1);
    } else {
      expand(pool_.push(rest, start), out, depth + 1);
    }
  }
}

void Pushdown::start(std::uint32_t rule, StackId below, std::vector<StackId>& out) {
  out.clear();
  for (std::uint32_t start : grammar_->rules[rule].alternatives) {
    if (grammar_->elements[start].kind == ElementKind::kEnd) {
      expand(below, out, 0);
    } else {
      expand(pool_.push(below, start), out, 0);
    }
  }
  sort_unique(out);
}

void Pushdown::expand_push(StackId below, std::uint32_t position, std::vector<StackId>& out) {
  expand(pool_.push(below, position), out, 0);
}

void Pushdown::advance(std::span<const StackId> from, std::uint8_t b, std::vector<StackId>& out,
                       bool& touched_bottom) {
  out.clear();
  for (StackId stack : from) {
    if (stack == kBottom) touched_bottom = true;
    if (stack == kAccepted || stack == kBottom) continue;
    const std::uint32_t position = pool_.top(stack);
    const Element& element = grammar_->elements[position];
    if (!grammar_->byte_sets[element.index].contains(b)) continue;
    expand(continue_after(pool_.below(stack), position), out, 0);
  }
  sort_unique(out);
}

void Pushdown::after_top(StackId stack, std::vector<StackId>& out) {
  out.clear();
  if (stack == kAccepted || stack == kBottom) return;
  const std::uint32_t position = pool_.top(stack);
  expand(continue_after(pool_.below(stack), position), out, 0);
  sort_unique(out);
}

void Pushdown::compact(std::vector<StackId>& keep) {
  StackPool fresh;
  std::unordered_map<StackId, StackId> renamed{{kAccepted, kAccepted}, {kBottom, kBottom}};
  // Re-push each chain bottom-up; chains share tails, so the map keeps the work linear. Iterative:
  // a deeply nested input makes a long chain.
  std::vector<StackId> chain;
  auto copy = [&](StackId old) {
    chain.clear();
    while (renamed.find(old) == renamed.end()) {
      chain.push_back(old);
      old = pool_.below(old);
    }
    StackId id = renamed[old];
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      id = fresh.push(id, pool_.top(*it));
      renamed.emplace(*it, id);
    }
    return id;
  };
  for (StackId& stack : keep) stack = copy(stack);
  pool_ = std::move(fresh);
  std::sort(keep.begin(), keep.end());
}

}  // namespace llama3::grammar
