// SentencePiece-style ("llama" in GGUF's tokenizer.ggml.model) vocabularies: tokens with scores,
// encoded the way llama.cpp encodes its SPM vocabularies (llm_tokenizer_spm), which is what the
// small Llama-architecture GGUF files (e.g. stories260K) were made and tested with:
//   1. at the start of the text, when add_space_prefix is set, prepend one space;
//   2. replace every ' ' with U+2581 "▁";
//   3. start from one symbol per UTF-8 character and repeatedly merge the adjacent pair whose
//      concatenation is a vocabulary token with the highest score (ties: the leftmost pair);
//   4. emit each symbol's id, or, for a symbol not in the vocabulary, the byte tokens <0xXX> of its
//      bytes (byte fallback), or one unknown token where the vocabulary lacks one of those bytes.
// Merges consider every token, whatever its type, as llama.cpp does.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer_impl.hpp"

namespace llama3::io {
class GgufFile;
}

namespace llama3::detail {

// What a loader hands to SentencePieceTokenizer.
struct SentencePieceVocab {
  std::vector<std::string> tokens;  // as the vocabulary spells them, "▁" for spaces
  std::vector<float> scores;        // merge priority, higher first; empty means all 0
  std::vector<TokenKind> kinds;     // empty means all kNormal
  TokenId bos = 1;                  // -1: none
  TokenId eos = 2;                  // -1: none
  TokenId unknown = 0;              // -1: none
  bool add_bos = true;
  bool add_space_prefix = true;
  std::vector<TokenId> extra_end_of_generation;  // besides eos (e.g. GGUF eot/eom ids)
};

class SentencePieceTokenizer : public TokenizerImpl {
 public:
  // Throws Error(kBadFormat) when counts differ, an id is out of range or a byte token is not
  // <0xXX>.
  explicit SentencePieceTokenizer(SentencePieceVocab vocab);

  Tokenizer::Family family() const override { return Tokenizer::Family::kSentencePiece; }
  void encode_plain(std::string_view text, bool at_text_start,
                    std::vector<TokenId>& out) const override;
  std::string token_bytes(TokenId id) const override;
  bool strips_leading_space() const override { return add_space_prefix_; }

  TokenId unknown_id() const { return unknown_; }
  bool add_space_prefix() const { return add_space_prefix_; }

 private:
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  using TextToId = std::unordered_map<std::string, TokenId, TextHash, std::equal_to<>>;

  TokenId find_text(std::string_view text) const;  // -1 when not a token
  // A symbol that is not a token: its byte tokens, or one unknown token.
  void emit_fallback(std::string_view symbol, std::vector<TokenId>& out) const;

  std::vector<float> scores_;
  std::vector<std::string> bytes_;  // what each token decodes to
  TextToId text_to_id_;             // every token, whatever its kind, as llama.cpp matches them
  std::array<TokenId, 256> byte_token_{};  // <0xXX> per byte, -1 when absent
  TokenId unknown_ = -1;
  bool add_space_prefix_ = true;
};

// Builds the tokenizer from a GGUF file's tokenizer.ggml.* metadata (tokens, scores, token_type,
// bos/eos/unknown/padding/eot/eom ids, add_bos_token, add_space_prefix). Throws Error(kBadFormat)
// naming the key when a key is missing, of the wrong type, of the wrong length or out of range.
std::shared_ptr<const TokenizerImpl> make_sentencepiece_from_gguf(const io::GgufFile& gguf);

}  // namespace llama3::detail
