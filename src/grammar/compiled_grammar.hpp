// A grammar bound to a vocabulary: its byte-level IR, the vocabulary trie, the end-of-generation
// ids and the shared token-mask cache. Behind llama3::Grammar.
#pragma once

#include <memory>
#include <vector>

#include "grammar/grammar_ir.hpp"
#include "grammar/token_masks.hpp"
#include "grammar/vocab_trie.hpp"
#include "llama3/tokenizer.hpp"

namespace llama3::detail {

class CompiledGrammar {
 public:
  CompiledGrammar(grammar::GrammarIr ir, const Tokenizer& vocabulary);

  const std::shared_ptr<const grammar::GrammarIr>& ir() const { return ir_; }
  const grammar::VocabTrie& vocab() const { return *vocab_; }
  const grammar::TokenMaskCache& masks() const { return masks_; }
  const std::vector<TokenId>& end_of_generation_ids() const { return end_of_generation_ids_; }
  bool is_end_of_generation(TokenId id) const;

 private:
  std::shared_ptr<const grammar::GrammarIr> ir_;
  std::shared_ptr<const grammar::VocabTrie> vocab_;
  std::vector<TokenId> end_of_generation_ids_;
  grammar::TokenMaskCache masks_;
};

}  // namespace llama3::detail
