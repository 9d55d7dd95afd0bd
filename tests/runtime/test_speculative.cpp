// Speculative decoding in Session::generate: greedy output is token-identical to plain decoding
// with both drafters, the generation contract (stop strings, max_tokens, end of generation,
// grammar, logprobs, callbacks, the context afterwards) is kept, options are checked, and seeded
// sampling is reproducible. The acceptance rule's statistics are in test_speculative_sampling.cpp.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "llama3/error.hpp"
#include "llama3/grammar.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "runtime/prompt_lookup.hpp"
#include "support/error_code.hpp"
#include "support/stories_model.hpp"
#include "support/test_models.hpp"

using namespace llama3;
using testing::code_of;
using testing::greedy_sampler;
using testing::stories_model;
using testing::stories_prompt;

namespace {

const Model& tiny_target() {
  static const Model model = Model::load(
      testing::make_test_model("--shape tiny --type f32 --seed 11", "spec-target-f32.gguf"));
  return model;
}
// The same weights quantized: a draft that mostly agrees with the target (random weights give
// flat distributions, where Q4_0's rounding would flip many argmaxes; Q8_0's rarely does).
const Model& tiny_same_weights_draft() {
  static const Model model = Model::load(
      testing::make_test_model("--shape tiny --type q8_0 --seed 11", "spec-draft-q8_0.gguf"));
  return model;
}
// Unrelated weights: a draft the target mostly rejects, which exercises the rejection path.
const Model& tiny_unrelated_draft() {
  static const Model model = Model::load(
      testing::make_test_model("--shape tiny --type q8_0 --seed 12", "spec-draft-other.gguf"));
  return model;
}

std::vector<TokenId> synthetic_prompt(std::size_t n, std::size_t salt) {
  std::vector<TokenId> tokens;
  for (std::size_t i = 0; i < n; ++i) {
    tokens.push_back(static_cast<TokenId>((i * 37 + 11 + salt * 101) % 512));
  }
  // Repeat the start, so prompt lookup has something to find.
  const std::vector<TokenId> head(tokens.begin(), tokens.begin() + static_cast<long>(n / 2));
  tokens.insert(tokens.end(), head.begin(), head.end());
  return tokens;
}

struct Outcome {
  GenerateResult result;
  std::vector<TokenId> context;
  std::vector<float> logits;
  std::vector<std::string> pieces;
};

Outcome run(const Model& model, const std::vector<TokenId>& prompt, Sampler sampler,
            GenerateOptions options, int n_ctx = 256) {
  Session session(model, {.n_ctx = n_ctx, .n_threads = 2});
  Outcome outcome;
  const auto user_callback = options.on_piece;
  options.on_piece = [&](std::string_view piece) {
    outcome.pieces.emplace_back(piece);
    return user_callback ? user_callback(piece) : true;
  };
  outcome.result = session.generate(prompt, sampler, options);
  outcome.context.assign(session.tokens().begin(), session.tokens().end());
  outcome.logits.assign(session.logits().begin(), session.logits().end());
  return outcome;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Everything a caller can see must match plain decoding.
void check_same(const Outcome& plain, const Outcome& speculative) {
  CHECK(speculative.result.tokens == plain.result.tokens);
  CHECK(speculative.result.text == plain.result.text);
  CHECK(speculative.result.stop_reason == plain.result.stop_reason);
  CHECK(speculative.pieces == plain.pieces);
  CHECK(speculative.context == plain.context);
  CHECK(same_bits(speculative.logits, plain.logits));
  REQUIRE(speculative.result.logprobs.size() == plain.result.logprobs.size());
  for (std::size_t i = 0; i < plain.result.logprobs.size(); ++i) {
    CHECK(speculative.result.logprobs[i].token == plain.result.logprobs[i].token);
    CHECK(speculative.result.logprobs[i].logprob == plain.result.logprobs[i].logprob);
  }
}

GenerateOptions with_lookup(GenerateOptions options, int ngram, int draft_max) {
  options.speculative.lookup_ngram = ngram;
  options.speculative.draft_max = draft_max;
  return options;
}

GenerateOptions with_draft(GenerateOptions options, const Model& draft, int draft_max) {
  options.speculative.draft_model = &draft;
  options.speculative.draft_threads = 2;
  options.speculative.draft_max = draft_max;
  return options;
}

}  // namespace

TEST_CASE("prompt lookup proposes what followed the latest match of the context's tail",
          "[speculative]") {
  using runtime::prompt_lookup;
  const std::vector<TokenId> context{1, 2, 3, 9, 1, 2, 3, 7, 8, 1, 2, 3};
  CHECK(prompt_lookup(context, 3, 2) == std::vector<TokenId>{7, 8});  // latest of two matches
  // Only the earlier match has more than 5 tokens after it.
  CHECK(prompt_lookup(context, 3, 10) == std::vector<TokenId>{9, 1, 2, 3, 7, 8, 1, 2, 3});
  // A periodic tail: the latest match has one period after it, an earlier one the full draft.
  const std::vector<TokenId> periodic{8, 5, 6, 5, 6, 5, 6, 5, 6};
  CHECK(prompt_lookup(periodic, 2, 4) == std::vector<TokenId>{5, 6, 5, 6});
  const std::vector<TokenId> run{3, 7, 7, 7, 7, 7, 7};
  CHECK(prompt_lookup(run, 3, 3) == std::vector<TokenId>{7, 7, 7});
  // The longest n that matches wins; shorter ones are tried when it does not.
  const std::vector<TokenId> tail_once{5, 6, 4, 4, 6};
  CHECK(prompt_lookup(tail_once, 3, 4) == std::vector<TokenId>{4, 4, 6});  // only "6" repeats
  CHECK(prompt_lookup(std::vector<TokenId>{1, 2, 3}, 2, 4).empty());
  CHECK(prompt_lookup(std::vector<TokenId>{}, 2, 4).empty());
  CHECK(prompt_lookup(std::vector<TokenId>{4}, 2, 4).empty());
  CHECK(prompt_lookup(std::vector<TokenId>{4, 4}, 5, 4) == std::vector<TokenId>{4});
  CHECK(prompt_lookup(context, 3, 0).empty());
}

TEST_CASE("truncate keeps the row of a decode_all_logits batch that becomes the last",
          "[speculative]") {
  Session session(tiny_target(), {.n_ctx = 64, .n_threads = 2});
  const std::vector<TokenId> tokens{3, 1, 4, 1, 5, 9, 2, 6};
  const auto rows = session.decode_all_logits(tokens);
  const std::size_t n_vocab = 512;
  const std::vector<float> row5(rows.begin() + 5 * n_vocab, rows.begin() + 6 * n_vocab);
  session.truncate(6);
  CHECK(same_bits({session.logits().begin(), session.logits().end()}, row5));
  session.truncate(2);  // position 1 was not in the batch's rows any more
  CHECK(session.logits().empty());
}

TEST_CASE("greedy speculative decoding on random weights is token-identical to plain decoding",
          "[speculative]") {
  for (std::size_t salt = 0; salt < 6; ++salt) {
    const auto prompt = synthetic_prompt(20 + 7 * salt, salt);
    GenerateOptions options;
    options.max_tokens = 24 + static_cast<int>(salt) * 5;
    options.logprobs = salt % 2 == 0;
    options.top_logprobs = 2;
    const Outcome plain = run(tiny_target(), prompt, greedy_sampler(), options);
    INFO("salt " << salt);
    for (int draft_max : {1, 3, 8}) {
      INFO("draft_max " << draft_max);
      check_same(plain, run(tiny_target(), prompt, greedy_sampler(),
                            with_lookup(options, 1 + static_cast<int>(salt % 4), draft_max)));
      const auto same = run(tiny_target(), prompt, greedy_sampler(),
                            with_draft(options, tiny_same_weights_draft(), draft_max));
      check_same(plain, same);
      const auto other = run(tiny_target(), prompt, greedy_sampler(),
                             with_draft(options, tiny_unrelated_draft(), draft_max));
      check_same(plain, other);
      // The statistics add up: one pass per step, and a step keeps its accepted drafts plus one.
      CHECK(same.result.speculative.drafted > 0);
      CHECK(same.result.speculative.accepted <= same.result.speculative.drafted);
      CHECK(same.result.speculative.target_passes <= static_cast<int>(plain.result.tokens.size()));
    }
  }
}

TEST_CASE("a same-weights draft is mostly accepted and saves passes", "[speculative]") {
  const auto prompt = synthetic_prompt(30, 1);
  GenerateOptions options;
  options.max_tokens = 48;
  const auto out = run(tiny_target(), prompt, greedy_sampler(),
                       with_draft(options, tiny_same_weights_draft(), 6));
  REQUIRE(out.result.tokens.size() == 48);
  CHECK(out.result.speculative.acceptance_rate() > 0.5);
  CHECK(out.result.speculative.target_passes < 30);
}

TEST_CASE("greedy speculative decoding of stories260K matches plain decoding with every stop",
          "[speculative]") {
  const std::vector<std::string> texts{
      "Once upon a time, there was a little girl named Lily. Once upon a time,",
      "The cat sat on the mat. The dog sat on the log. The cat",
      "Tom had a red ball. He liked to play with the ball in the park. One day, Tom",
      "",
  };
  for (std::size_t t = 0; t < texts.size(); ++t) {
    const auto prompt = stories_prompt(texts[t]);
    for (int variant = 0; variant < 4; ++variant) {
      GenerateOptions options;
      options.max_tokens = variant == 3 ? 7 : 120;
      if (variant == 1) options.stop_strings = {" the", "."};
      if (variant == 2) {
        int calls = 0;
        options.on_piece = [calls](std::string_view) mutable { return ++calls < 9; };
      }
      options.logprobs = variant == 0;
      INFO("prompt " << t << " variant " << variant);
      const Outcome plain = run(stories_model(), prompt, greedy_sampler(), options);
      for (int draft_max : {2, 5, 12}) {
        INFO("draft_max " << draft_max);
        check_same(plain, run(stories_model(), prompt, greedy_sampler(),
                              with_lookup(options, 3, draft_max)));
        // A model drafting for itself: every draft is accepted.
        const auto self = run(stories_model(), prompt, greedy_sampler(),
                              with_draft(options, stories_model(), draft_max));
        check_same(plain, self);
        // Drafts after a mid-step stop (a stop string, the callback) are never checked.
        if (variant == 0 || variant == 3) {
          CHECK(self.result.speculative.accepted == self.result.speculative.drafted);
        }
      }
    }
  }
}

TEST_CASE("greedy speculative decoding ends at a full context as plain decoding does",
          "[speculative]") {
  const auto prompt = stories_prompt("Once upon a time, there was a big dog.");
  GenerateOptions options;
  options.max_tokens = 500;
  const int n_ctx = static_cast<int>(prompt.size()) + 40;
  const Outcome plain = run(stories_model(), prompt, greedy_sampler(), options, n_ctx);
  REQUIRE(plain.result.stop_reason == StopReason::kContextFull);
  check_same(plain,
             run(stories_model(), prompt, greedy_sampler(), with_lookup(options, 2, 8), n_ctx));
  check_same(plain, run(stories_model(), prompt, greedy_sampler(),
                        with_draft(options, stories_model(), 8), n_ctx));
  options.context_shift = true;
  options.max_tokens = 90;
  const Outcome shifted = run(stories_model(), prompt, greedy_sampler(), options, n_ctx);
  check_same(shifted,
             run(stories_model(), prompt, greedy_sampler(), with_lookup(options, 2, 8), n_ctx));
  check_same(shifted, run(stories_model(), prompt, greedy_sampler(),
                          with_draft(options, stories_model(), 8), n_ctx));
}

TEST_CASE("a grammar constrains speculative output exactly as plain output", "[speculative]") {
  const auto prompt = stories_prompt("Lily said");
  SamplerParams params;
  params.temperature = 0.0f;
  params.grammar = Grammar::from_regex(" [a-z]+( [a-z]+)*\\.", stories_model().tokenizer());
  GenerateOptions options;
  options.max_tokens = 60;
  const Outcome plain = run(stories_model(), prompt, Sampler(params), options);
  check_same(plain, run(stories_model(), prompt, Sampler(params), with_lookup(options, 2, 6)));
  check_same(plain, run(stories_model(), prompt, Sampler(params),
                        with_draft(options, stories_model(), 6)));
}

TEST_CASE("seeded speculative sampling is reproducible", "[speculative]") {
  const auto prompt = stories_prompt("Once upon a time, there was a little girl named Lily.");
  SamplerParams params;
  params.temperature = 0.8f;
  params.top_p = 0.95f;
  params.repeat_penalty = 1.1f;
  params.seed = 1234;
  GenerateOptions options;
  options.max_tokens = 80;
  for (const auto& spec : {with_lookup(options, 3, 6), with_draft(options, stories_model(), 4)}) {
    const auto first = run(stories_model(), prompt, Sampler(params), spec);
    const auto second = run(stories_model(), prompt, Sampler(params), spec);
    CHECK(first.result.tokens == second.result.tokens);
    CHECK(first.result.speculative.accepted == second.result.speculative.accepted);
    CHECK(first.result.tokens.size() > 10);
  }
}

TEST_CASE("speculative options are checked before any work", "[speculative]") {
  const auto prompt = synthetic_prompt(10, 0);
  Session session(tiny_target(), {.n_ctx = 64, .n_threads = 2});
  Sampler sampler = greedy_sampler();
  const auto generate = [&](GenerateOptions options) {
    return [&session, &sampler, &prompt, options] { session.generate(prompt, sampler, options); };
  };
  GenerateOptions options;
  CHECK(code_of(generate(with_lookup(options, 2, 0))) == ErrorCode::kInvalidArgument);
  CHECK(code_of(generate(with_lookup(options, 2, 33))) == ErrorCode::kInvalidArgument);
  CHECK(code_of(generate(with_lookup(options, -1, 4))) == ErrorCode::kInvalidArgument);
  CHECK(code_of(generate(with_lookup(options, 17, 4))) == ErrorCode::kInvalidArgument);
  auto both = with_draft(options, tiny_same_weights_draft(), 4);
  both.speculative.lookup_ngram = 2;
  CHECK(code_of(generate(both)) == ErrorCode::kInvalidArgument);
  // stories260K has a tokenizer and the tiny model none (and a different vocabulary size).
  CHECK(code_of(generate(with_draft(options, stories_model(), 4))) == ErrorCode::kInvalidArgument);
  CHECK(session.n_past() == 0);
}
