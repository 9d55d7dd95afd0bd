// Our BPE merges by rank = token id (tiktoken's rule: of all adjacent pairs, merge the one whose
// concatenation has the lowest id). A Hugging Face tokenizer.json instead lists merge rules in
// priority order. The two agree when
//   (1) every listed merge makes a token of the vocabulary, with ids never decreasing down the
//       list, and
//   (2) every pair of tokens whose concatenation is a token is listed (else HF would never make
//       that token, while the id rule would).
// Llama 3's tokenizer.json, converted from tiktoken, is of that kind. Any other BPE would be
// tokenized wrongly without a word, so it is refused; so is a tokenizer.json without merges, where
// the order cannot be checked at all.
#pragma once

#include <string>
#include <vector>

namespace llama3::detail {

// `merges` as "left right" strings in list order; `token_text` indexed by id, `mergeable[id]` false
// for special tokens (BPE never makes them). Throws kUnsupported naming the first merge (or the
// unlisted pair) that breaks the rule.
void check_merges_follow_ids(const std::vector<std::string>& merges,
                             const std::vector<std::string>& token_text,
                             const std::vector<bool>& mergeable, const std::string& origin);

// The merge list a rank file (tiktoken's tokenizer.model) implies, for writers whose format wants
// one (GGUF's tokenizer.ggml.merges): every cut of a token into two tokens, ordered by the id of
// the token made, then by the left and right ids — the rule transformers' tiktoken converter
// applies, so for Llama 3 it is tokenizer.json's list. It passes check_merges_follow_ids.
std::vector<std::string> merges_from_ranks(const std::vector<std::string>& token_text,
                                           const std::vector<bool>& mergeable);

}  // namespace llama3::detail
