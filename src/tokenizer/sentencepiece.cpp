// SentencePiece-style encoding by score-ordered merges with byte fallback; see sentencepiece.hpp.
#include "tokenizer/sentencepiece.hpp"

#include <queue>
#include <string>

#include "llama3/error.hpp"

namespace llama3::detail {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

// Bytes in the UTF-8 character a lead byte starts. A stray continuation byte counts as one
// character, so malformed text still splits (and later falls back to byte tokens) instead of
// failing.
std::size_t utf8_char_length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return lead < 0xF8 ? 4 : 1;
}

std::string hex_byte(char c) {
  constexpr char kDigits[] = "0123456789ABCDEF";
  const auto byte = static_cast<unsigned char>(c);
  return {kDigits[byte >> 4], kDigits[byte & 15]};
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The byte a "<0xXX>" token stands for, or -1 when the text is not of that form.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || !text.starts_with("<0x") || text[5] != '>') return -1;
  const int high = hex_digit(text[3]);
  const int low = hex_digit(text[4]);
  return (high < 0 || low < 0) ? -1 : high * 16 + low;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string result;
  result.reserve(text.size());
  std::size_t pos = 0;
  for (std::size_t hit; (hit = text.find(from, pos)) != std::string_view::npos;
       pos = hit + from.size()) {
    result.append(text.substr(pos, hit - pos));
    result.append(to);
  }
  result.append(text.substr(pos));
  return result;
}

bool is_end_of_generation_text(std::string_view text) {
  for (std::string_view eog :
       {"</s>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>",
        "<end_of_turn>", "<|end|>", "<EOT>"}) {
    if (text == eog) return true;
  }
  return false;
}

void check_id(TokenId id, std::size_t n_tokens, const char* what) {
  if (id < -1 || id >= static_cast<TokenId>(n_tokens)) {
    throw Error(ErrorCode::kBadFormat, std::string("sentencepiece vocabulary: ") + what + " id " +
                                           std::to_string(id) + " is outside the vocabulary of " +
                                           std::to_string(n_tokens));
  }
}

VocabInfo make_info(const SentencePieceVocab& vocab) {
  const std::size_t n = vocab.tokens.size();
  if (n == 0) throw Error(ErrorCode::kBadFormat, "sentencepiece vocabulary: no tokens");
  if (!vocab.scores.empty() && vocab.scores.size() != n) {
    throw Error(ErrorCode::kBadFormat,
                "sentencepiece vocabulary: " + std::to_string(vocab.scores.size()) +
                    " scores for " + std::to_string(n) + " tokens");
  }
  if (!vocab.kinds.empty() && vocab.kinds.size() != n) {
    throw Error(ErrorCode::kBadFormat,
                "sentencepiece vocabulary: " + std::to_string(vocab.kinds.size()) +
                    " token types for " + std::to_string(n) + " tokens");
  }
  check_id(vocab.bos, n, "bos");
  check_id(vocab.eos, n, "eos");
  check_id(vocab.unknown, n, "unknown");

  VocabInfo info;
  info.token_text = vocab.tokens;
  info.kinds = vocab.kinds.empty() ? std::vector<TokenKind>(n, TokenKind::kNormal) : vocab.kinds;
  info.bos = vocab.bos;
  info.eos = vocab.eos;
  info.add_bos = vocab.add_bos;
  if (vocab.eos >= 0) info.end_of_generation.push_back(vocab.eos);
  for (TokenId id : vocab.extra_end_of_generation) {
    check_id(id, n, "end-of-generation");
    if (id >= 0) info.end_of_generation.push_back(id);
  }
  for (std::size_t id = 0; id < n; ++id) {
    if (info.kinds[id] == TokenKind::kControl && is_end_of_generation_text(vocab.tokens[id])) {
      info.end_of_generation.push_back(static_cast<TokenId>(id));
    }
  }
  return info;
}

// A run of text that is one token candidate; symbols form a linked list in text order.
struct Symbol {
  std::size_t offset;
  std::size_t length;  // 0 once merged into its left neighbour
  int prev;
  int next;  // -1 at the ends
};

// A pair of adjacent symbols whose concatenation is a token. `length` is the pair's byte length
// when it was queued: if either side has grown since, the entry is stale.
struct MergeCandidate {
  float score;
  int left;
  int right;
  std::size_t length;
};

// Priority order: higher score first, then the leftmost pair.
struct MergeOrder {
  bool operator()(const MergeCandidate& a, const MergeCandidate& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(SentencePieceVocab vocab)
    : TokenizerImpl(make_info(vocab)),
      unknown_(vocab.unknown),
      add_space_prefix_(vocab.add_space_prefix) {
  const auto& tokens = info().token_text;
  const auto& kinds = info().kinds;
  scores_ =
      vocab.scores.empty() ? std::vector<float>(tokens.size(), 0.0f) : std::move(vocab.scores);
  byte_token_.fill(-1);
  bytes_.reserve(tokens.size());
  text_to_id_.reserve(tokens.size());
  for (std::size_t id = 0; id < tokens.size(); ++id) {
    // A later duplicate wins, as in llama.cpp's token_to_id map.
    text_to_id_[tokens[id]] = static_cast<TokenId>(id);
    if (kinds[id] == TokenKind::kByte) {
      const int byte = parse_byte_token(tokens[id]);
      if (byte < 0) {
        throw Error(ErrorCode::kBadFormat, "sentencepiece vocabulary: byte token " +
                                               std::to_string(id) + " is \"" + tokens[id] +
                                               "\", not <0xXX>");
      }
      if (byte_token_[byte] < 0) byte_token_[byte] = static_cast<TokenId>(id);
      bytes_.emplace_back(1, static_cast<char>(byte));
    } else {
      bytes_.push_back(replace_all(tokens[id], kSpaceMark, " "));
    }
  }
}

TokenId SentencePieceTokenizer::find_text(std::string_view text) const {
  const auto it = text_to_id_.find(text);
  return it == text_to_id_.end() ? -1 : it->second;
}

void SentencePieceTokenizer::emit_fallback(std::string_view symbol,
                                           std::vector<TokenId>& out) const {
  const std::size_t first = out.size();
  for (char c : symbol) {
    TokenId id = byte_token_[static_cast<unsigned char>(c)];
    if (id < 0) id = find_text(std::string_view(&c, 1));  // llama.cpp's second choice: the raw byte
    if (id < 0) {
      // Without a token for every byte the character cannot be spelled: one unknown token stands
      // for it, as in SentencePiece.
      out.resize(first);
      if (unknown_ < 0) {
        throw Error(ErrorCode::kUnsupported, "sentencepiece vocabulary has no byte token for 0x" +
                                                 hex_byte(c) + " and no unknown token");
      }
      out.push_back(unknown_);
      return;
    }
    out.push_back(id);
  }
}

void SentencePieceTokenizer::encode_plain(std::string_view raw, bool at_text_start,
                                          std::vector<TokenId>& out) const {
  if (raw.empty()) return;  // SentencePiece encodes "" as nothing, not as a lone "▁"
  std::string text;
  if (add_space_prefix_ && at_text_start) text = " ";
  text.append(raw);
  text = replace_all(text, " ", kSpaceMark);

  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (std::size_t offset = 0; offset < text.size();) {
    const std::size_t length =
        std::min(utf8_char_length(static_cast<unsigned char>(text[offset])), text.size() - offset);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({offset, length, index - 1, offset + length == text.size() ? -1 : index + 1});
    offset += length;
  }

  const std::string_view view(text);
  std::priority_queue<MergeCandidate, std::vector<MergeCandidate>, MergeOrder> queue;
  auto consider = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const std::size_t length = symbols[left].length + symbols[right].length;
    const TokenId id = find_text(view.substr(symbols[left].offset, length));
    if (id >= 0) queue.push({scores_[id], left, right, length});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) consider(i - 1, i);

  while (!queue.empty()) {
    const MergeCandidate best = queue.top();
    queue.pop();
    Symbol& left = symbols[best.left];
    Symbol& right = symbols[best.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != best.length)
      continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = best.left;
    consider(left.prev, best.left);
    consider(best.left, left.next);
  }

  // Every merged symbol is a token by construction; only unmerged characters can be unknown.
  for (int i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view symbol = view.substr(symbols[i].offset, symbols[i].length);
    const TokenId id = find_text(symbol);
    if (id >= 0) {
      out.push_back(id);
    } else {
      emit_fallback(symbol, out);
    }
  }
}

std::string SentencePieceTokenizer::token_bytes(TokenId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= bytes_.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "token id " + std::to_string(id) + " is outside the vocabulary");
  }
  return bytes_[id];
}

}  // namespace llama3::detail
