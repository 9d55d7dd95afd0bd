// What happens to each sampled token of a generation, shared by Session::generate and the engine's
// sequences: end-of-generation detection, UTF-8-safe streaming, stop strings (the text that could
// still grow into one is held back), the output filter chain and the caller's on_piece. The caller
// owns the loop (sample, push, feed the token back); this object owns the text.
#pragma once

#include <memory>
#include <span>

#include "llama3/model.hpp"
#include "llama3/session.hpp"

namespace llama3::runtime {

// Runs the input filters over the prompt's text. Returns false, with `result` marked kBlocked and
// the filter's reason, when one blocks. Does nothing for an empty prompt or no filters.
bool run_input_filters(const Model& model, std::span<const TokenId> prompt,
                       const GenerateOptions& options, GenerateResult& result);

class GenerationOutput {
 public:
  // `options` and `result` must outlive this object. at_text_start: nothing but control tokens
  // (BOS) precede the generated ones, so a leading space is the text's own.
  GenerationOutput(const Model& model, const GenerateOptions& options, GenerateResult& result,
                   bool at_text_start);
  ~GenerationOutput();
  GenerationOutput(const GenerationOutput&) = delete;
  GenerationOutput& operator=(const GenerationOutput&) = delete;

  // Takes one sampled token and the logits row it was drawn from (read only for
  // GenerateOptions::logprobs, during the call). Returns true when generation goes on (the token is
  // kept and should be fed back); false when it ended here, with result.stop_reason set
  // (kEndOfGeneration: the token is not kept; kStopString, kCallback, kFiltered: it is kept in
  // result.tokens).
  bool push(TokenId id, std::span<const float> logits);

  // Ends the generation: flushes held-back text (unless a stop already cut it), runs the output
  // filters' final call and sets result.text.
  void finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace llama3::runtime
