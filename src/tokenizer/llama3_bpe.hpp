// Llama 3's tokenizer: the hand-written pre-tokenizer, then rank-based byte-level BPE with tiktoken
// semantics (ranks are token ids). Every loader (tokenizer.json, tokenizer.model, GGUF) fills a
// Llama3VocabSpec and calls make_llama3_bpe, so all of them build the same tokenizer from the same
// vocab.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/token_ranks.hpp"
#include "tokenizer/tokenizer_impl.hpp"

namespace llama3::detail {

struct Llama3VocabSpec {
  std::string origin;  // the file the vocabulary came from, for error messages
  // Every token as the vocabulary spells it: normal tokens in GPT-2 byte-level form
  // (tokenizer/byte_level.hpp), special tokens literally ("<|eot_id|>").
  std::vector<std::string> token_text;
  std::vector<TokenKind> kinds;  // same length; kNormal tokens take part in BPE
  std::optional<TokenId> bos;    // unset: the token named <|begin_of_text|>, if any
  std::optional<TokenId> eos;    // unset: the token named <|end_of_text|>, if any
  bool add_bos = true;           // Llama 3 prompts start with <|begin_of_text|>
};

class Llama3BpeTokenizer final : public TokenizerImpl {
 public:
  // token_bytes[id]: raw bytes of normal tokens, empty for the others.
  Llama3BpeTokenizer(VocabInfo info, const std::vector<std::string>& token_bytes);

  Tokenizer::Family family() const override { return Tokenizer::Family::kLlama3Bpe; }
  void encode_plain(std::string_view text, bool at_text_start,
                    std::vector<TokenId>& out) const override;
  std::string token_bytes(TokenId id) const override;

  const TokenRanks& ranks() const { return ranks_; }

 private:
  TokenRanks ranks_;
};

// Validates the spec (throws llama3::Error kBadFormat naming spec.origin and the token at fault)
// and builds the tokenizer. The end-of-generation set is eos plus <|eot_id|>, <|eom_id|>,
// <|end_of_text|>.
std::shared_ptr<const Llama3BpeTokenizer> make_llama3_bpe(Llama3VocabSpec spec);

// The 256 special tokens Meta's tiktoken tokenizer appends after `n_base` ranks, with the
// Llama 3.1+ names (<|finetune_right_pad_id|>, <|eom_id|>, <|python_tag|>, reserved tokens numbered
// from 2...).
std::vector<std::string> llama3_special_token_names();

}  // namespace llama3::detail
