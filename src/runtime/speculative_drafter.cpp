// The two drafters of speculative decoding; see speculative_drafter.hpp.
#include "runtime/speculative_drafter.hpp"

#include <algorithm>
#include <string>

#include "llama3/error.hpp"
#include "runtime/prompt_lookup.hpp"

namespace llama3::runtime {
namespace {

[[noreturn]] void invalid(const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, "speculative decoding: " + why);
}

// The draft model must speak the target's token ids: same vocabulary size and the same special
// tokens (BOS, EOS, end-of-generation set), or its proposals mean something else.
void check_same_tokenizer(const Model& target, const Model& draft) {
  if (target.config().n_vocab != draft.config().n_vocab) {
    invalid("the draft model's vocabulary has " + std::to_string(draft.config().n_vocab) +
            " tokens, the model's " + std::to_string(target.config().n_vocab));
  }
  if (target.has_tokenizer() != draft.has_tokenizer()) {
    invalid("one of the model and the draft model has a tokenizer and the other has none");
  }
  if (!target.has_tokenizer()) return;
  const Tokenizer& a = target.tokenizer();
  const Tokenizer& b = draft.tokenizer();
  if (a.bos_id() != b.bos_id() || a.eos_id() != b.eos_id() ||
      a.end_of_generation_ids() != b.end_of_generation_ids()) {
    invalid(
        "the draft model's special tokens (BOS, EOS, end of generation) differ from the model's");
  }
}

class PromptLookupDrafter final : public Drafter {
 public:
  explicit PromptLookupDrafter(int max_ngram) : max_ngram_(max_ngram) {}

  void propose(std::span<const TokenId> context, int max_tokens, const Sampler&,
               const UniformSource&, Draft& draft) override {
    draft.clear();
    draft.tokens = prompt_lookup(context, max_ngram_, max_tokens);
  }

 private:
  int max_ngram_;
};

class DraftModelDrafter final : public Drafter {
 public:
  DraftModelDrafter(const Model& draft, int n_ctx, int n_threads)
      : session_(draft, {.n_ctx = n_ctx, .n_threads = n_threads}) {}

  void propose(std::span<const TokenId> context, int max_tokens, const Sampler& target_sampler,
               const UniformSource& uniform, Draft& draft) override {
    draft.clear();
    if (context.empty() || max_tokens <= 0) return;
    catch_up(context);
    if (session_.logits().empty()) return;
    sampler_ = target_sampler;  // the target's history and grammar state, at this point
    const bool greedy = sampler_->params().temperature <= 0.0f;
    const Tokenizer* tokenizer =
        session_.model().has_tokenizer() ? &session_.model().tokenizer() : nullptr;
    for (int i = 0; i < max_tokens; ++i) {
      auto q = sampler_->candidates(session_.logits());
      const TokenId x = greedy ? q.front().id : draw_token(q, uniform());
      draft.tokens.push_back(x);
      if (!greedy) draft.q.push_back(std::move(q));
      // Nothing follows an end of generation; the last token need not be decoded (the next
      // step's catch_up decodes it with what the model adds).
      if ((tokenizer && tokenizer->is_end_of_generation(x)) || i + 1 == max_tokens) break;
      sampler_->accept(x);
      session_.decode(std::span<const TokenId>(&x, 1));
    }
  }

 private:
  void prefill(std::span<const TokenId> context) override {
    if (!context.empty()) catch_up(context);
  }

  // Brings the draft session to `context`: keeps the common prefix, decodes the rest (at least the
  // last token, whose logits the first draft is drawn from).
  void catch_up(std::span<const TokenId> context) {
    const auto known = session_.tokens();
    const auto mismatch = std::mismatch(known.begin(), known.end(), context.begin(), context.end());
    auto common = static_cast<std::size_t>(mismatch.first - known.begin());
    const bool logits_at_hand =
        common == context.size() && common == known.size() && !session_.logits().empty();
    if (common == context.size() && !logits_at_hand) --common;
    if (logits_at_hand) return;
    session_.truncate(static_cast<int>(common));
    session_.decode(context.subspan(common));
  }

  Session session_;
  std::optional<Sampler> sampler_;
};

}  // namespace

void check_speculative_options(const Model& target, const SpeculativeOptions& options) {
  if (options.draft_model && options.lookup_ngram > 0) {
    invalid("choose a draft model or prompt lookup, not both");
  }
  if (options.lookup_ngram < 0 || options.lookup_ngram > SpeculativeOptions::kMaxLookupNgram) {
    invalid("lookup_ngram must be in 0.." + std::to_string(SpeculativeOptions::kMaxLookupNgram) +
            ", got " + std::to_string(options.lookup_ngram));
  }
  if (options.draft_max < 1 || options.draft_max > SpeculativeOptions::kMaxDraft) {
    invalid("draft_max must be in 1.." + std::to_string(SpeculativeOptions::kMaxDraft) + ", got " +
            std::to_string(options.draft_max));
  }
  if (options.draft_threads < 0) {
    invalid("draft_threads must be >= 0, got " + std::to_string(options.draft_threads));
  }
  if (options.draft_model) check_same_tokenizer(target, *options.draft_model);
}

std::unique_ptr<Drafter> make_drafter(const Model& target, int n_ctx,
                                      const SpeculativeOptions& options) {
  check_speculative_options(target, options);
  if (options.lookup_ngram > 0) return std::make_unique<PromptLookupDrafter>(options.lookup_ngram);
  if (!options.draft_model) invalid("neither a draft model nor prompt lookup is set");
  return std::make_unique<DraftModelDrafter>(*options.draft_model, n_ctx, options.draft_threads);
}

std::unique_ptr<Drafter> make_drafter(const Session& target, const SpeculativeOptions& options) {
  return make_drafter(target.model(), target.context_size(), options);
}

}  // namespace llama3::runtime
