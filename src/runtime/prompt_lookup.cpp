// Prompt lookup drafting; see prompt_lookup.hpp.
#include "runtime/prompt_lookup.hpp"

#include <algorithm>

namespace llama3::runtime {

std::vector<TokenId> prompt_lookup(std::span<const TokenId> context, int max_ngram,
                                   int max_tokens) {
  const auto size = context.size();
  if (max_tokens <= 0) return {};
  for (int n = std::min<int>(max_ngram, static_cast<int>(size) - 1); n >= 1; --n) {
    const auto width = static_cast<std::size_t>(n);
    const auto pattern = context.last(width);
    // Latest first: the most recent repetition is the best guess of what repeats now. But in a
    // periodic stretch the latest match is followed by only one period before the context ends,
    // so a match with a full max_tokens after it wins, and failing that the one with most after it
    // (the earliest). A match must end before the context does, so that a token follows it.
    std::size_t best_follow = 0;
    std::size_t best_count = 0;
    for (std::size_t start = size - width; start-- > 0;) {
      if (!std::equal(pattern.begin(), pattern.end(), context.begin() + start)) continue;
      const std::size_t follow = start + width;
      const std::size_t count = std::min(static_cast<std::size_t>(max_tokens), size - follow);
      if (count > best_count) {
        best_follow = follow;
        best_count = count;
      }
      if (count == static_cast<std::size_t>(max_tokens)) break;
    }
    if (best_count > 0) {
      return {context.begin() + static_cast<std::ptrdiff_t>(best_follow),
              context.begin() + static_cast<std::ptrdiff_t>(best_follow + best_count)};
    }
  }
  return {};
}

}  // namespace llama3::runtime
