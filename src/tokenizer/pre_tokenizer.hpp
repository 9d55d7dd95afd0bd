// Llama 3's pre-tokenizer: splits text into the pieces that the split pattern
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// matches, with the leftmost-first (backtracking) semantics of the reference engines, written out
// by hand. \s is Unicode White_Space, \p{L}/\p{N} the general categories
// (tokenizer/unicode_tables.hpp), and
// (?i) folds like Unicode simple case folding, so "'ſ" (U+017F LONG S) is the contraction "'s".
//
// Bytes that are not well-formed UTF-8 each count as one character with none of the classes (like
// punctuation), so every input splits into pieces that cover it exactly, byte for byte.
#pragma once

#include <cstddef>
#include <string_view>

namespace llama3::detail {

// Length in bytes of the piece that starts at `pos` (pos < text.size(); the result is >= 1).
std::size_t next_piece_length(std::string_view text, std::size_t pos);

// Calls on_piece(std::string_view) for every piece of `text`, in order.
template <typename OnPiece>
void split_pieces(std::string_view text, OnPiece&& on_piece) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t length = next_piece_length(text, pos);
    on_piece(text.substr(pos, length));
    pos += length;
  }
}

}  // namespace llama3::detail
