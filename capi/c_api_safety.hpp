// The safety handles of the C ABI and the generate-time filters built from
// llama3_generate_params (c_api_safety_filters.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "c_api_support.hpp"
#include "llama3/safety.hpp"

struct llama3_code_scanner {
  llama3::CodeScanner scanner;
};

// A Guard runs one classification at a time. Filters of sessions and engine requests share it
// with llama3_guard_classify, so every use takes the lock; the shared pointer keeps the runner
// alive for a filter that is still queued in an engine when the caller frees the handle.
struct LockedGuard {
  explicit LockedGuard(llama3::Guard runner) : guard(std::move(runner)) {}
  std::mutex mutex;
  llama3::Guard guard;
};

struct llama3_guard {
  std::shared_ptr<LockedGuard> locked;
};

namespace llama3::capi {

// Set (to a LLAMA3_FILTER_* code) by the filter that blocked a generation; read once it ended.
using BlockingFilter = std::shared_ptr<std::atomic<int32_t>>;

// Adds to `options` the filters `params` asks for (NULL: none) and returns where the one that
// blocks will be recorded. `context` is what the answer follows (the whole context after the
// prompt is fed): the Guard judges the answer as a reply to its user turn. Throws
// kInvalidArgument for a NULL or empty blocked phrase, a NULL list with a count, or a guard with
// neither guard_prompt nor guard_answer.
// The context an answer to `prompt` will follow, given the tokens already in the context (a
// session's or a pipeline's): a BOS-led prompt is the whole context, any other is appended
// (session.hpp, Session::generate).
std::vector<TokenId> answer_context(const Model& model, std::span<const TokenId> held,
                                    std::span<const TokenId> prompt);

BlockingFilter add_safety_filters(const llama3_generate_params* params, const Model& model,
                                  std::span<const TokenId> context, GenerateOptions& options,
                                  const char* function);

// When `generated` was blocked: fails with LLAMA3_ERR_BLOCKED and a message naming the filter and
// its reason. Otherwise LLAMA3_OK.
llama3_status blocked_status(const GenerateResult& generated, int32_t filter, const char* function);

}  // namespace llama3::capi
