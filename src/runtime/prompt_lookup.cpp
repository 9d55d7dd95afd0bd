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
    // Latest first: the most recent repetition is the best guess of what repeats now. A match
    // must end before the context does, so that at least one token follows it.
    for (std::size_t start = size - width; start-- > 0;) {
      if (!std::equal(pattern.begin(), pattern.end(), context.begin() + start)) continue;
      const std::size_t follow = start + width;
      const std::size_t count = std::min(static_cast<std::size_t>(max_tokens), size - follow);
      return {context.begin() + static_cast<std::ptrdiff_t>(follow),
              context.begin() + static_cast<std::ptrdiff_t>(follow + count)};
    }
  }
  return {};
}

}  // namespace llama3::runtime
