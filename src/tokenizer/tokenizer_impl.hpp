// The vocabulary-specific half of a Tokenizer. include/llama3/tokenizer.hpp holds the generic half
// (special-token matching, BOS/EOS, decoding, streaming); each vocabulary family (Llama 3 BPE,
// SentencePiece) derives from TokenizerImpl and supplies plain-text encoding and token bytes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llama3/tokenizer.hpp"

namespace llama3::detail {

// Facts shared by every family, filled by the loaders.
struct VocabInfo {
  std::vector<std::string> token_text;  // each token as the vocabulary file spells it
  std::vector<TokenKind> kinds;         // same length as token_text
  TokenId bos = -1;
  TokenId eos = -1;
  bool add_bos = false;                    // whether callers should add BOS by default
  std::vector<TokenId> end_of_generation;  // sorted, unique
};

class TokenizerImpl {
 public:
  explicit TokenizerImpl(VocabInfo info);
  virtual ~TokenizerImpl() = default;
  TokenizerImpl(const TokenizerImpl&) = delete;
  TokenizerImpl& operator=(const TokenizerImpl&) = delete;

  virtual Tokenizer::Family family() const = 0;

  // Encodes text that contains no special tokens to match (no BOS/EOS added). `at_text_start` is
  // true for the first segment of the caller's text: SentencePiece adds its space prefix only
  // there.
  virtual void encode_plain(std::string_view text, bool at_text_start,
                            std::vector<TokenId>& out) const = 0;

  // The raw bytes a normal or byte token stands for. Control tokens are not asked for here.
  virtual std::string token_bytes(TokenId id) const = 0;

  // SentencePiece decoding drops the space that its encoder put before the first word.
  virtual bool strips_leading_space() const { return false; }

  const VocabInfo& info() const { return info_; }
  // Ids of the tokens that parse_special may match in text (control and user-defined), longest
  // first.
  const std::vector<TokenId>& matchable_special_ids() const { return matchable_special_ids_; }
  // The lowest id whose token_text is exactly `text` (a hash lookup).
  std::optional<TokenId> find_text(std::string_view text) const;

 private:
  VocabInfo info_;
  std::vector<TokenId> matchable_special_ids_;
  std::unordered_map<std::string_view, TokenId> id_of_text_;  // views into info_.token_text
};

// The library's own view of a Tokenizer's inside, which the public header keeps private.
struct TokenizerAccess {
  static const TokenizerImpl& impl(const Tokenizer& tokenizer) { return *tokenizer.impl_; }
  static Tokenizer make(std::shared_ptr<const TokenizerImpl> impl) {
    return Tokenizer(std::move(impl));
  }
};

}  // namespace llama3::detail
