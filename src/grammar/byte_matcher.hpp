// Matches a byte stream against a grammar, one byte at a time, from the start rule: the state is
// the set of parse positions (stacks) still alive.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "grammar/pushdown.hpp"

namespace llama3::grammar {

class ByteMatcher {
 public:
  explicit ByteMatcher(std::shared_ptr<const GrammarIr> grammar);
  ByteMatcher(const ByteMatcher& other);
  ByteMatcher& operator=(const ByteMatcher& other);

  // Consumes `bytes` if the grammar allows them here; otherwise returns false and keeps the state.
  bool feed(std::string_view bytes);
  // True when the grammar allows `bytes` next (the state is unchanged).
  bool allows(std::string_view bytes);
  // True when a single stack can match `bytes` from here (the state is unchanged).
  bool stack_accepts(StackId stack, std::string_view bytes);
  // The whole input so far is a sentence of the grammar.
  bool is_accepting() const;
  // The grammar allows no further byte (only the end).
  bool is_complete() const { return positions_.size() == 1 && positions_[0] == kAccepted; }
  void reset();

  const std::vector<StackId>& positions() const { return positions_; }
  const StackPool& pool() { return pushdown_.pool(); }
  const GrammarIr& grammar() const { return *grammar_; }

 private:
  std::shared_ptr<const GrammarIr> grammar_;
  Pushdown pushdown_;
  std::vector<StackId> positions_;  // sorted, unique
  std::vector<StackId> scratch_a_, scratch_b_;
};

}  // namespace llama3::grammar
