// Tokenizer: text <-> token ids for Llama 3's 128K byte-level BPE (exact to Meta's tiktoken-based
// tokenizer) and for SentencePiece-style "llama" vocabularies found in older/tiny GGUF files.
// A Tokenizer is immutable and safe to use from many threads at once; copies share one vocabulary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Everything declared here is exported from libllama3.so, which hides the rest of the library.
#pragma GCC visibility push(default)

namespace llama3 {

using TokenId = std::int32_t;

// Internal types stay hidden in the library (they are named here only as opaque pointers).
#pragma GCC visibility pop
namespace detail {
class TokenizerImpl;
struct TokenizerAccess;
}  // namespace detail
#pragma GCC visibility push(default)

// What a vocabulary entry is (the GGUF token_type enum, 1-based there).
enum class TokenKind : std::uint8_t { kNormal, kUnknown, kControl, kUserDefined, kUnused, kByte };

struct EncodeOptions {
  bool add_bos =
      false;  // prepend the BOS token (never twice: text that already starts with it is kept)
  bool add_eos = false;
  // Match special-token text such as "<|eot_id|>" in the input. Off by default: like Meta's encode,
  // text that looks like a special token is tokenized as plain text unless the caller asks.
  bool parse_special = false;
};

class Tokenizer {
 public:
  enum class Family { kLlama3Bpe, kSentencePiece };

  // Loads `tokenizer.json` (Hugging Face), `tokenizer.model` (Meta's tiktoken ranks) or the
  // tokenizer metadata of a `.gguf` file, chosen by content. Throws llama3::Error on a missing or
  // malformed file.
  static Tokenizer load(const std::filesystem::path& path);

  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const;

  // Concatenated bytes of the tokens. Control tokens render as their text only when render_special
  // is set. SentencePiece vocabularies drop the leading space of the first piece, as SentencePiece
  // does.
  std::string decode(std::span<const TokenId> ids, bool render_special = false) const;

  // The raw bytes of one token (may be part of a UTF-8 character). Throws on an out-of-range id.
  std::string piece(TokenId id, bool render_special = false) const;

  Family family() const;
  std::size_t vocab_size() const;
  TokenKind kind(TokenId id) const;
  TokenId bos_id() const;  // -1 when the vocabulary has none
  TokenId eos_id() const;  // -1 when the vocabulary has none
  bool add_bos_by_default() const;
  // End-of-generation set: eos plus <|eot_id|>, <|eom_id|>, <|end_of_text|> where present.
  const std::vector<TokenId>& end_of_generation_ids() const;
  bool is_end_of_generation(TokenId id) const;
  // The id of a token whose text is exactly `text` (e.g. "<|eot_id|>"), if any.
  std::optional<TokenId> find(std::string_view text) const;

 private:
  friend struct detail::TokenizerAccess;  // the library's own view of the internals (src/tokenizer)
  explicit Tokenizer(std::shared_ptr<const detail::TokenizerImpl> impl);
  std::shared_ptr<const detail::TokenizerImpl> impl_;
};

// Turns a stream of token ids into text without ever splitting a UTF-8 character: bytes of an
// incomplete character are held back until it completes (or until flush()).
class StreamDecoder {
 public:
  // at_text_start: the first token is the start of the text (so SentencePiece's leading space is
  // dropped); false when continuing text that came before, e.g. a prompt.
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false,
                         bool at_text_start = true);
  // Text that became complete with this token (possibly empty).
  std::string push(TokenId id);
  // Whatever is still held back (an incomplete character at the end of generation).
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool render_special_;
  bool at_start_ = true;
  std::string pending_;
};

}  // namespace llama3

#pragma GCC visibility pop
