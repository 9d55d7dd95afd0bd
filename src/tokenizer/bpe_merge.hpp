// Rank-based byte-level BPE with tiktoken semantics: a piece that is a whole token maps to it;
// otherwise start from single bytes and repeatedly merge the leftmost adjacent pair whose
// concatenation has the lowest rank, until no concatenation is a token. Ranks are token ids.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/token_ranks.hpp"

namespace llama3::detail {

// Appends the ids of one pre-tokenized piece (non-empty). Every single byte must have a rank.
void bpe_encode_piece(const TokenRanks& ranks, std::string_view piece,
                      std::vector<std::int32_t>& out);

// The two merge loops bpe_encode_piece chooses between by piece length; both give the same result
// (tests check that). The first rescans all pairs per merge like tiktoken (fast for short pieces,
// quadratic); the second keeps pairs in a heap over a linked list of parts (O(n log n)).
void bpe_merge_by_scan(const TokenRanks& ranks, std::string_view piece,
                       std::vector<std::int32_t>& out);
void bpe_merge_by_heap(const TokenRanks& ranks, std::string_view piece,
                       std::vector<std::int32_t>& out);

}  // namespace llama3::detail
