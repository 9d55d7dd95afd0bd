// Prompt lookup (n-gram) drafting: text that is being rewritten, quoted or continued from earlier
// in the context tends to repeat what is already there, so the tokens that followed the latest
// earlier occurrence of the context's last few tokens make a free draft.
#pragma once

#include <span>
#include <vector>

#include "llama3/tokenizer.hpp"

namespace llama3::runtime {

// Looks for the last n tokens of `context` earlier in it, for n = max_ngram down to 1, and returns
// the (up to max_tokens) tokens that followed an occurrence of the longest n that matched: the
// latest one with max_tokens after it, else the one with most after it. Empty when nothing
// matched.
std::vector<TokenId> prompt_lookup(std::span<const TokenId> context, int max_ngram, int max_tokens);

}  // namespace llama3::runtime
