// Speculative decoding's generation loop; see speculative.hpp.
#include "runtime/speculative.hpp"

#include <algorithm>
#include <vector>

#include "runtime/sampler_access.hpp"
#include "runtime/speculative_sampling.hpp"

namespace llama3::runtime {

void generate_speculative(Session& session, Sampler& sampler, const GenerateOptions& options,
                          Drafter& drafter, GenerationOutput& output, GenerateResult& result) {
  const auto n_vocab = static_cast<std::size_t>(session.model().config().n_vocab);
  SpeculativeStats& stats = result.speculative;
  SpeculativeVerifier verifier(n_vocab);
  const UniformSource uniform = [&sampler] { return detail::SamplerAccess::next_uniform(sampler); };
  const auto generated = [&result] { return static_cast<int>(result.tokens.size()); };

  result.stop_reason = StopReason::kMaxTokens;
  if (options.max_tokens == 0) return;
  // The first token comes from the prompt's logits, as in plain decoding.
  TokenId pending = sampler.sample(session.logits());
  sampler.accept(pending);
  if (!output.push(pending, session.logits())) return;

  Draft draft;
  std::vector<TokenId> context;
  std::vector<TokenId> batch;
  while (true) {
    // `pending` is kept but not decoded: the plain loop's checks come before its decode.
    if (session.n_past() >= session.context_size() && !make_room(session, options)) {
      result.stop_reason = StopReason::kContextFull;
      return;
    }
    const int remaining = options.max_tokens - generated();
    const int room = session.context_size() - session.n_past() - 1;
    const int k = std::min({options.speculative.draft_max, remaining, room});
    draft.clear();
    if (k > 0) {
      const auto known = session.tokens();
      context.assign(known.begin(), known.end());
      context.push_back(pending);
      drafter.propose(context, k, sampler, uniform, draft);
      stats.drafted += static_cast<int>(draft.tokens.size());
    }
    batch.assign(1, pending);
    batch.insert(batch.end(), draft.tokens.begin(), draft.tokens.end());
    const int base = session.n_past();
    const auto rows = session.decode_all_logits(batch);  // [1 + drafts, n_vocab]
    ++stats.target_passes;
    const auto row = [&](std::size_t i) { return rows.subspan(i * n_vocab, n_vocab); };
    if (remaining == 0) return;  // max_tokens: the last token is decoded, as plain decoding does

    // Check the drafts in order; `next` is the first token the model itself chooses.
    std::size_t accepted = 0;
    TokenId next = 0;
    bool next_chosen = false;
    for (; accepted < draft.tokens.size(); ++accepted) {
      const TokenId x = draft.tokens[accepted];
      const auto p = sampler.candidates(row(accepted));
      const auto q = draft.q.empty() ? std::span<const TokenProbability>()
                                     : std::span<const TokenProbability>(draft.q[accepted]);
      const auto verdict = verifier.verify(p, x, q, uniform);
      if (!verdict.accepted) {
        next = verdict.token;
        next_chosen = true;
        break;
      }
      ++stats.accepted;
      sampler.accept(x);
      if (!output.push(x, row(accepted))) {
        session.truncate(base + 1 + static_cast<int>(accepted));  // x is not in the context
        return;
      }
      if (generated() == options.max_tokens) {
        session.truncate(base + 2 + static_cast<int>(accepted));  // x is, as in plain decoding
        return;
      }
    }
    if (!next_chosen) {  // every draft kept: the model's own row after them gives one more
      const auto p = sampler.candidates(row(accepted));
      next = p.size() == 1 ? p.front().id : draw_token(p, uniform());
    }
    sampler.accept(next);
    const bool go_on = output.push(next, row(accepted));
    session.truncate(base + 1 + static_cast<int>(accepted));
    if (!go_on) return;
    pending = next;
  }
}

}  // namespace llama3::runtime
