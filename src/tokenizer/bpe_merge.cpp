#include "tokenizer/bpe_merge.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <queue>

namespace llama3::detail {
namespace {

constexpr std::int32_t kNoMerge = std::numeric_limits<std::int32_t>::max();
// Pieces up to this many bytes use the scan loop: its arrays live on the stack and its quadratic
// worst case (a few thousand lookups) is cheaper than heap bookkeeping at this size.
constexpr std::size_t kScanMaxBytes = 64;

std::int32_t rank_of(const TokenRanks& ranks, std::string_view piece, std::size_t begin,
                     std::size_t end) {
  const std::int32_t rank = end - begin == 2
                                ? ranks.find_pair(static_cast<unsigned char>(piece[begin]),
                                                  static_cast<unsigned char>(piece[begin + 1]))
                                : ranks.find(piece.data() + begin, end - begin);
  return rank == TokenRanks::kNone ? kNoMerge : rank;
}

void emit_part(const TokenRanks& ranks, std::string_view piece, std::size_t begin, std::size_t end,
               std::vector<std::int32_t>& out) {
  out.push_back(end - begin == 1 ? ranks.find_byte(static_cast<unsigned char>(piece[begin]))
                                 : ranks.find(piece.data() + begin, end - begin));
}

}  // namespace

void bpe_merge_by_scan(const TokenRanks& ranks, std::string_view piece,
                       std::vector<std::int32_t>& out) {
  const std::size_t n = piece.size();
  if (n > kScanMaxBytes) {
    bpe_merge_by_heap(ranks, piece, out);
    return;
  }
  std::array<std::uint8_t, kScanMaxBytes + 1>
      start;  // [count + 1]: part k is [start[k], start[k+1])
  std::array<std::int32_t, kScanMaxBytes> pair_rank;  // [count - 1]: rank of part k joined with k+1
  std::size_t count = n;
  for (std::size_t k = 0; k <= n; ++k) start[k] = static_cast<std::uint8_t>(k);
  for (std::size_t k = 0; k + 1 < n; ++k) pair_rank[k] = rank_of(ranks, piece, k, k + 2);

  while (count > 1) {
    std::size_t best = 0;
    for (std::size_t k = 1; k + 1 < count; ++k) {
      if (pair_rank[k] < pair_rank[best]) best = k;  // strict: the leftmost of equal ranks wins
    }
    if (pair_rank[best] == kNoMerge) break;
    for (std::size_t k = best + 1; k < count; ++k) start[k] = start[k + 1];
    for (std::size_t k = best + 1; k + 2 < count; ++k) pair_rank[k] = pair_rank[k + 1];
    --count;
    pair_rank[best] =
        best + 1 < count ? rank_of(ranks, piece, start[best], start[best + 2]) : kNoMerge;
    if (best > 0) pair_rank[best - 1] = rank_of(ranks, piece, start[best - 1], start[best + 1]);
  }
  for (std::size_t k = 0; k < count; ++k) emit_part(ranks, piece, start[k], start[k + 1], out);
}

void bpe_merge_by_heap(const TokenRanks& ranks, std::string_view piece,
                       std::vector<std::int32_t>& out) {
  const std::size_t n = piece.size();
  // Parts are named by the byte offset they start at; next/prev link the live ones.
  std::vector<std::uint32_t> next(n), prev(n);           // [n]
  std::vector<std::int32_t> pair_rank(n, kNoMerge);      // [n]: rank of part p joined with next[p]
  std::vector<std::uint8_t> alive(n, 1);                 // [n]
  using Entry = std::pair<std::int32_t, std::uint32_t>;  // (rank, part): lowest rank, then leftmost
  std::vector<Entry> storage;
  storage.reserve(n);
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap(std::greater<Entry>(),
                                                                           std::move(storage));
  for (std::size_t p = 0; p < n; ++p) {
    next[p] = static_cast<std::uint32_t>(p + 1);
    prev[p] = static_cast<std::uint32_t>(p == 0 ? 0 : p - 1);
    if (p + 1 < n) {
      pair_rank[p] = rank_of(ranks, piece, p, p + 2);
      if (pair_rank[p] != kNoMerge) heap.emplace(pair_rank[p], static_cast<std::uint32_t>(p));
    }
  }
  auto part_end = [&](std::uint32_t p) -> std::size_t { return next[p]; };
  while (!heap.empty()) {
    const auto [rank, p] = heap.top();
    heap.pop();
    // An entry is stale once its part died or its pair changed rank; a changed pair with the same
    // rank is still a lowest-rank leftmost pair, so acting on it is what the scan loop would do.
    if (!alive[p] || pair_rank[p] != rank) continue;
    const std::uint32_t q = next[p];
    alive[q] = 0;
    next[p] = next[q];
    if (next[p] < n) prev[next[p]] = p;
    pair_rank[p] = next[p] < n ? rank_of(ranks, piece, p, part_end(next[p])) : kNoMerge;
    if (pair_rank[p] != kNoMerge) heap.emplace(pair_rank[p], p);
    if (p > 0) {
      const std::uint32_t before = prev[p];
      pair_rank[before] = rank_of(ranks, piece, before, next[p]);
      if (pair_rank[before] != kNoMerge) heap.emplace(pair_rank[before], before);
    }
  }
  for (std::uint32_t p = 0; p < n; p = next[p]) emit_part(ranks, piece, p, next[p], out);
}

void bpe_encode_piece(const TokenRanks& ranks, std::string_view piece,
                      std::vector<std::int32_t>& out) {
  if (piece.size() == 1) {
    out.push_back(ranks.find_byte(static_cast<unsigned char>(piece[0])));
    return;
  }
  if (const std::int32_t whole = ranks.find(piece); whole != TokenRanks::kNone) {
    out.push_back(whole);
    return;
  }
  if (piece.size() <= kScanMaxBytes) {
    bpe_merge_by_scan(ranks, piece, out);
  } else {
    bpe_merge_by_heap(ranks, piece, out);
  }
}

}  // namespace llama3::detail
