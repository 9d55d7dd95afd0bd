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

// Behind llama3::GrammarVocabulary: the tokens grammars may produce, as bytes in a trie, and the
// end-of-generation ids.
class TokenBytes {
 public:
  explicit TokenBytes(const Tokenizer& tokenizer);
  const std::shared_ptr<const grammar::VocabTrie>& trie() const { return trie_; }
  const std::vector<TokenId>& end_of_generation_ids() const { return end_of_generation_ids_; }

 private:
  std::shared_ptr<const grammar::VocabTrie> trie_;
  std::vector<TokenId> end_of_generation_ids_;
};

class CompiledGrammar {
 public:
  CompiledGrammar(grammar::GrammarIr ir, std::shared_ptr<const TokenBytes> tokens);

  const std::shared_ptr<const grammar::GrammarIr>& ir() const { return ir_; }
  const grammar::VocabTrie& vocab() const { return *tokens_->trie(); }
  const grammar::TokenMaskCache& masks() const { return masks_; }
  const std::vector<TokenId>& end_of_generation_ids() const {
    return tokens_->end_of_generation_ids();
  }
  bool is_end_of_generation(TokenId id) const;

 private:
  std::shared_ptr<const grammar::GrammarIr> ir_;
  std::shared_ptr<const TokenBytes> tokens_;
  grammar::TokenMaskCache masks_;
};

}  // namespace llama3::detail
