// The generation loop of Session::generate with speculative decoding (GenerateOptions::speculative;
// docs/speculative.md). Each step: the token sampled last (not decoded yet) and up to draft_max
// drafted tokens go through the model in one decode_all_logits batch; the drafts are checked in
// order with speculative sampling's acceptance rule against the rows of that batch; the session is
// truncated to the accepted prefix (truncate keeps the row after it), and the token drawn at the
// first rejection (or after the last draft) is next.
#pragma once

#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "runtime/generation_output.hpp"
#include "runtime/speculative_drafter.hpp"

namespace llama3::runtime {

// With options.context_shift, makes room in a full context (generate.cpp). Returns false when
// there is nothing to drop.
bool make_room(Session& session, const GenerateOptions& options);

// Runs the sampling loop after the prompt is in `session` (its logits are at hand), with the same
// contract as the plain loop: the same stop reasons, and at the end the context holds every kept
// token except one that ended generation (and logits() follows the last decoded one).
void generate_speculative(Session& session, Sampler& sampler, const GenerateOptions& options,
                          Drafter& drafter, GenerationOutput& output, GenerateResult& result);

}  // namespace llama3::runtime
