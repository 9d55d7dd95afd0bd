// ByteMatcher: feeds bytes through Pushdown and keeps its stack pool small between tokens.
#include "grammar/byte_matcher.hpp"

#include <algorithm>

namespace llama3::grammar {
namespace {
// The pool only grows while matching (checked tokens leave stacks behind); past this many nodes a
// feed() copies the live stacks into a fresh pool.
constexpr std::size_t kCompactAbove = std::size_t{1} << 16;
}  // namespace

ByteMatcher::ByteMatcher(std::shared_ptr<const GrammarIr> grammar)
    : grammar_(std::move(grammar)), pushdown_(*grammar_) {
  reset();
}

ByteMatcher::ByteMatcher(const ByteMatcher& other)
    : grammar_(other.grammar_), pushdown_(other.pushdown_), positions_(other.positions_) {}

ByteMatcher& ByteMatcher::operator=(const ByteMatcher& other) {
  if (this != &other) {
    grammar_ = other.grammar_;
    pushdown_ = other.pushdown_;
    positions_ = other.positions_;
  }
  return *this;
}

void ByteMatcher::reset() {
  pushdown_ = Pushdown(*grammar_);
  pushdown_.start(grammar_->root, kAccepted, positions_);
}

bool ByteMatcher::feed(std::string_view bytes) {
  scratch_a_ = positions_;
  bool touched_bottom = false;
  for (char c : bytes) {
    pushdown_.advance(scratch_a_, static_cast<std::uint8_t>(c), scratch_b_, touched_bottom);
    if (scratch_b_.empty()) return false;
    scratch_a_.swap(scratch_b_);
  }
  positions_.swap(scratch_a_);
  if (pushdown_.pool().size() > kCompactAbove) pushdown_.compact(positions_);
  return true;
}

bool ByteMatcher::stack_accepts(StackId stack, std::string_view bytes) {
  scratch_a_.assign(1, stack);
  bool touched_bottom = false;
  for (char c : bytes) {
    pushdown_.advance(scratch_a_, static_cast<std::uint8_t>(c), scratch_b_, touched_bottom);
    if (scratch_b_.empty()) return false;
    scratch_a_.swap(scratch_b_);
  }
  return true;
}

bool ByteMatcher::allows(std::string_view bytes) {
  const std::vector<StackId> positions = positions_;
  for (StackId stack : positions) {
    if (bytes.empty() || stack_accepts(stack, bytes)) return true;
  }
  return false;
}

bool ByteMatcher::is_accepting() const {
  return !positions_.empty() && positions_.front() == kAccepted;
}

}  // namespace llama3::grammar
