// One request running in the engine, seen from the HTTP thread that serves it: text pieces (and
// log-probabilities when asked) arrive on the engine's step thread and are handed over here, so a
// streaming response writes them as they come and a plain one waits for the end.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "llama3/engine.hpp"
#include "llama3/tokenizer.hpp"

namespace llama3::server {

struct TokenLogprob {
  TokenId token = 0;
  float logprob = 0.0f;                        // log-softmax of the model's logits
  std::vector<std::pair<TokenId, float>> top;  // the most likely tokens, most likely first
};

struct StreamUpdate {
  std::string text;                    // new text since the last update
  std::vector<TokenLogprob> logprobs;  // new tokens since the last update (logprobs asked only)
  bool ended = false;                  // no more updates: call finish()
};

class GenerationStream {
 public:
  // Submits `request` (its on_piece, on_token and output filters are set here). n_top_logprobs < 0:
  // no log-probabilities. Throws what Engine::submit throws.
  GenerationStream(Engine& engine, EngineRequest request, const Tokenizer& tokenizer,
                   int n_top_logprobs);
  // Cancels the request if it has not been collected by finish().
  ~GenerationStream();
  GenerationStream(const GenerationStream&) = delete;
  GenerationStream& operator=(const GenerationStream&) = delete;

  // Waits up to `timeout` for new text or the end.
  StreamUpdate next(std::chrono::milliseconds timeout);
  // Waits for the end and returns the result (once).
  EngineResult finish();
  // Ends the generation now (a client that went away); finish() still collects it.
  void cancel();
  Engine::RequestId id() const { return id_; }

 private:
  struct Channel;
  Engine& engine_;
  std::shared_ptr<Channel> channel_;
  Engine::RequestId id_ = 0;
  bool collected_ = false;
};

// The log-probability of `token` and the `n_top` most likely tokens in `logits` [n_vocab].
TokenLogprob token_logprob(std::span<const float> logits, TokenId token, int n_top);

}  // namespace llama3::server
