#include "server/generation_stream.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <numeric>

namespace llama3::server {

struct GenerationStream::Channel {
  std::mutex mutex;
  std::condition_variable changed;
  std::string text;
  std::vector<TokenLogprob> logprobs;
  bool ended = false;
};

TokenLogprob token_logprob(std::span<const float> logits, TokenId token, int n_top) {
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (const float x : logits) sum += std::exp(static_cast<double>(x - max_logit));
  const double log_total = max_logit + std::log(sum);
  TokenLogprob out;
  out.token = token;
  out.logprob = static_cast<float>(logits[static_cast<std::size_t>(token)] - log_total);
  const auto k = static_cast<std::size_t>(std::clamp(n_top, 0, static_cast<int>(logits.size())));
  if (k == 0) return out;
  std::vector<TokenId> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  // Most likely first; ties by the lower id, so the list is the same on every run.
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                    [&](TokenId a, TokenId b) {
                      const float la = logits[static_cast<std::size_t>(a)];
                      const float lb = logits[static_cast<std::size_t>(b)];
                      return la > lb || (la == lb && a < b);
                    });
  for (std::size_t i = 0; i < k; ++i) {
    out.top.emplace_back(ids[i],
                         static_cast<float>(logits[static_cast<std::size_t>(ids[i])] - log_total));
  }
  return out;
}

GenerationStream::GenerationStream(Engine& engine, EngineRequest request,
                                   const Tokenizer& tokenizer, int n_top_logprobs)
    : engine_(engine), channel_(std::make_shared<Channel>()) {
  // The callbacks hold the channel, not `this`: they run on the step thread and may outlive a
  // stream whose client went away until the engine drops the request.
  auto channel = channel_;
  request.generate.on_piece = [channel](std::string_view piece) {
    {
      std::lock_guard<std::mutex> lock(channel->mutex);
      channel->text.append(piece);
    }
    channel->changed.notify_all();
    return true;
  };
  if (n_top_logprobs >= 0) {
    request.on_token = [channel, &tokenizer, n_top_logprobs](TokenId token,
                                                             std::span<const float> logits) {
      if (tokenizer.is_end_of_generation(token)) return;
      TokenLogprob entry = token_logprob(logits, token, n_top_logprobs);
      std::lock_guard<std::mutex> lock(channel->mutex);
      channel->logprobs.push_back(std::move(entry));
    };
  }
  // The last output filter sees the end of every generation that produced output: it wakes the
  // HTTP thread at once instead of at its next poll.
  request.generate.output_filters.push_back([channel](const OutputEvent& event) {
    if (event.is_final) {
      {
        std::lock_guard<std::mutex> lock(channel->mutex);
        channel->ended = true;
      }
      channel->changed.notify_all();
    }
    return OutputVerdict::pass();
  });
  id_ = engine_.submit(std::move(request));
}

GenerationStream::~GenerationStream() {
  if (collected_) return;
  engine_.cancel(id_);
  try {
    engine_.wait(id_);
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to report from a destructor
  }
}

StreamUpdate GenerationStream::next(std::chrono::milliseconds timeout) {
  StreamUpdate update;
  std::unique_lock<std::mutex> lock(channel_->mutex);
  channel_->changed.wait_for(lock, timeout, [&] {
    return channel_->ended || !channel_->text.empty() || !channel_->logprobs.empty();
  });
  update.text = std::move(channel_->text);
  channel_->text.clear();
  update.logprobs = std::move(channel_->logprobs);
  channel_->logprobs.clear();
  update.ended = channel_->ended;
  lock.unlock();
  // Ends that skip the output filters (refused, cancelled before admission, failed) are seen here.
  if (!update.ended) {
    const RequestState state = engine_.state(id_);
    update.ended = state != RequestState::kQueued && state != RequestState::kRunning;
    if (update.ended) {
      // Pieces that arrived between the unlock and the state check go out with this update.
      lock.lock();
      update.text += channel_->text;
      channel_->text.clear();
      for (auto& entry : channel_->logprobs) update.logprobs.push_back(std::move(entry));
      channel_->logprobs.clear();
    }
  }
  return update;
}

EngineResult GenerationStream::finish() {
  collected_ = true;
  return engine_.wait(id_);
}

void GenerationStream::cancel() {
  engine_.cancel(id_);
}

}  // namespace llama3::server
