// The inside of a Session: model, thread pool, KV cache, forward pass and latest logits.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "kernels/thread_pool.hpp"
#include "llama3/session.hpp"
#include "model/model_impl.hpp"
#include "runtime/forward.hpp"
#include "runtime/kv_cache.hpp"
#include "runtime/lora_apply.hpp"

namespace llama3::detail {

class SessionImpl {
 public:
  SessionImpl(const Model& model, const SessionOptions& options);

  // Validates, then runs the batch; throws before changing anything when it cannot run.
  void decode(std::span<const TokenId> tokens, bool all_logits);

  const Model& model() const { return model_; }
  const std::vector<float>& logits() const { return logits_; }
  int n_past() const { return n_past_; }
  int n_ctx() const { return cache_.n_ctx(); }
  std::vector<std::byte> save_state() const;
  void load_state(std::span<const std::byte> state);

  void set_adapters(std::span<const ActiveLora> adapters) {
    lora_ = runtime::make_lora_stack(model_.config(), adapters);
  }

  void set_abort_callback(std::function<bool()> should_abort) {
    should_abort_ = std::move(should_abort);
  }

  void reset() {
    n_past_ = 0;
    logits_.clear();
    tokens_.clear();
    tokens_known_ = true;
  }

  // Drops the positions from n_tokens on (Session::truncate).
  void truncate(int n_tokens);
  void shift_context(int n_keep, int n_discard);  // Session::shift_context

  // The ids at positions 0..n_past-1, or nothing when a loaded state did not record them.
  std::span<const TokenId> tokens() const {
    return tokens_known_ ? std::span<const TokenId>(tokens_) : std::span<const TokenId>();
  }

 private:
  Model model_;  // shares the weights; keeps them alive as long as the session
  kernels::ThreadPool pool_;
  runtime::KvCache cache_;
  runtime::ForwardPass forward_;
  std::vector<float> logits_;
  std::shared_ptr<const runtime::LoraStack> lora_;  // nullptr: no adapters
  int n_past_ = 0;
  std::vector<TokenId> tokens_;         // [n_past] the ids in the context, when tokens_known_
  bool tokens_known_ = true;            // false after loading a state that did not record its ids
  std::function<bool()> should_abort_;  // asked between batches (Session::set_abort_callback)
};

}  // namespace llama3::detail
