// A draft model in the engine: greedy output is token-identical to plain engine decoding (every
// sampled-from row the same bits) with a draft that agrees and one that does not, alone and in
// steps shared with prompt-lookup and plain sequences under a small budget and a small KV pool;
// seeded sampling gives exactly what Session::generate gives with the same draft; the counters add
// up; a draft with another tokenizer is refused at submit.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "engine/engine_test_support.hpp"
#include "llama3/session.hpp"
#include "support/error_code.hpp"
#include "support/stories_model.hpp"

using namespace llama3;
using namespace llama3::testing;

namespace {

const Model& target() {
  static const Model model = Model::load(
      make_test_model("--shape tiny --type f32 --seed 11", "engine-draft-target-f32.gguf"));
  return model;
}
// The target's weights in Q8_0: a draft the target mostly agrees with.
const Model& same_weights_draft() {
  return engine_test_model();
}
// Other weights: most drafts are rejected, which runs the rejection path.
const Model& unrelated_draft() {
  static const Model model =
      Model::load(make_test_model("--shape tiny --type q8_0 --seed 12", "engine-draft-other.gguf"));
  return model;
}

using Job = EngineJob;

Job job(unsigned salt, int max_tokens, const Model* draft, int draft_max = 6) {
  Job j;
  j.prompt = test_prompt(20 + salt * 3, salt);
  j.generate.max_tokens = max_tokens;
  j.generate.speculative.draft_model = draft;
  j.generate.speculative.draft_threads = 1;
  j.generate.speculative.draft_max = draft_max;
  return j;
}

std::vector<RecordedRun> run_all(const std::vector<Job>& jobs, EngineOptions options,
                                 EngineStats* stats = nullptr) {
  return run_jobs(target(), jobs, options, stats);
}

Job without_speculation(Job j) {
  j.generate.speculative = {};
  return j;
}

}  // namespace

TEST_CASE("an engine draft model is token-identical to plain engine decoding", "[engine]") {
  for (const Model* draft : {&same_weights_draft(), &unrelated_draft()}) {
    for (int draft_max : {1, 5}) {
      for (unsigned salt : {0u, 1u}) {
        INFO((draft == &same_weights_draft() ? "same weights" : "unrelated")
             << ", draft_max " << draft_max << ", prompt " << salt);
        const Job speculative = job(salt, 60, draft, draft_max);
        const auto plain = run_all({without_speculation(speculative)}, {.n_threads = 2});
        const auto spec = run_all({speculative}, {.n_threads = 2});
        check_same_run(plain[0], spec[0]);
        const auto& stats = spec[0].result.generation.speculative;
        const int n_tokens = static_cast<int>(spec[0].result.generation.tokens.size());
        CHECK(stats.drafted > 0);
        CHECK(stats.accepted <= stats.drafted);
        CHECK(stats.target_passes + stats.accepted + 1 >= n_tokens);
        CHECK(stats.target_passes + stats.accepted <= n_tokens);
        if (draft == &same_weights_draft()) {
          CHECK(stats.acceptance_rate() > 0.5);
        } else {
          CHECK(stats.accepted < stats.drafted);
        }
      }
    }
  }
}

TEST_CASE(
    "draft-model, prompt-lookup and plain sequences share steps and each gives what it "
    "gives alone",
    "[engine]") {
  std::vector<Job> jobs;
  for (unsigned i = 0; i < 6; ++i) {
    Job j = job(i, 30 + static_cast<int>(i) * 7,
                i % 3 == 0   ? &same_weights_draft()
                : i % 3 == 1 ? &unrelated_draft()
                             : nullptr,
                2 + static_cast<int>(i));
    if (i == 2) j.generate.speculative.lookup_ngram = 2;
    if (i == 5) j.generate.speculative = {};
    jobs.push_back(j);
  }
  std::vector<RecordedRun> alone;
  for (const Job& j : jobs) alone.push_back(run_all({without_speculation(j)}, {.n_threads = 2})[0]);
  // A budget of 10 rows leaves drafts little room beside prompt chunks; 160 KV positions (5
  // blocks) hold one or two sequences, so sequences wait, are preempted, and drafts often find
  // no free block.
  const int budget = GENERATE(10, 256);
  const int kv_tokens = GENERATE(160, 0);
  EngineStats stats;
  const auto together =
      run_all(jobs, {.n_threads = 2, .kv_tokens = kv_tokens, .max_step_tokens = budget}, &stats);
  std::uint64_t drafted = 0, accepted = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    INFO("budget " << budget << ", kv_tokens " << kv_tokens << ", sequence " << i);
    check_same_run(alone[i], together[i]);
    drafted += static_cast<std::uint64_t>(together[i].result.generation.speculative.drafted);
    accepted += static_cast<std::uint64_t>(together[i].result.generation.speculative.accepted);
  }
  CHECK(together[5].result.generation.speculative.drafted == 0);
  CHECK(together[0].result.generation.speculative.accepted > 0);
  CHECK(stats.n_drafted == drafted);
  CHECK(stats.n_draft_accepted == accepted);
}

TEST_CASE("seeded sampling with an engine draft model equals Session::generate with it",
          "[engine]") {
  for (const Model* draft : {&same_weights_draft(), &unrelated_draft()}) {
    INFO((draft == &same_weights_draft() ? "same weights" : "unrelated"));
    Job j = job(3, 50, draft, 4);
    j.temperature = 0.9f;
    j.seed = 4321;
    SamplerParams params;
    params.temperature = j.temperature;
    params.seed = j.seed;
    Session session(target(), {.n_threads = 2});
    Sampler sampler(params);
    const GenerateResult expected = session.generate(j.prompt, sampler, j.generate);
    // Beside another request, so the step's rows are shared.
    const auto runs = run_all({j, job(4, 20, nullptr)}, {.n_threads = 2});
    const GenerateResult& got = runs[0].result.generation;
    CHECK(got.tokens == expected.tokens);
    CHECK(got.speculative.drafted == expected.speculative.drafted);
    CHECK(got.speculative.accepted == expected.speculative.accepted);
    CHECK(got.tokens.size() == 50);
  }
}

TEST_CASE("an engine draft model stops at max_tokens and a full context as plain decoding does",
          "[engine]") {
  for (int max_tokens : {1, 2, 3, 7}) {
    INFO("max_tokens " << max_tokens);
    const Job speculative = job(1, max_tokens, &same_weights_draft(), 8);
    check_same_run(run_all({without_speculation(speculative)}, {.n_threads = 2})[0],
                   run_all({speculative}, {.n_threads = 2})[0]);
  }
  const Job speculative = job(0, 500, &same_weights_draft(), 8);
  const int n_ctx = static_cast<int>(speculative.prompt.size()) + 30;
  const auto plain = run_all({without_speculation(speculative)}, {.n_threads = 2, .n_ctx = n_ctx});
  REQUIRE(plain[0].result.generation.stop_reason == StopReason::kContextFull);
  check_same_run(plain[0], run_all({speculative}, {.n_threads = 2, .n_ctx = n_ctx})[0]);
}

TEST_CASE("the engine refuses a draft model with another tokenizer at submit", "[engine]") {
  Engine engine(target(), {.n_threads = 1, .n_ctx = 64, .background = false});
  EngineRequest request;
  request.prompt = test_prompt(5, 0);
  request.generate.speculative.draft_model =
      &stories_model();  // it has a tokenizer, the target none
  const auto submit = [&] { engine.submit(request); };
  CHECK(code_of(submit) == ErrorCode::kInvalidArgument);
  CHECK(message_of(submit).find("tokenizer") != std::string::npos);
  request.generate.speculative.lookup_ngram = 2;  // both kinds at once
  request.generate.speculative.draft_model = &same_weights_draft();
  CHECK(code_of(submit) == ErrorCode::kInvalidArgument);
}

TEST_CASE("a draft model reads a long prompt over several steps and then drafts", "[engine]") {
  // 120 prompt tokens under a 16-row step budget: the model's prompt and the draft model's catch-up
  // both take chunks; greedy output stays plain decoding's, and drafting starts once caught up.
  Job speculative = job(5, 40, &same_weights_draft(), 4);
  speculative.prompt = test_prompt(120, 5);
  const EngineOptions options{.n_threads = 2, .max_step_tokens = 16};
  const auto plain = run_all({without_speculation(speculative)}, options);
  const auto spec = run_all({speculative, job(6, 30, &same_weights_draft(), 4)}, options);
  check_same_run(plain[0], spec[0]);
  CHECK(spec[0].result.generation.speculative.accepted > 0);
  CHECK(spec[1].result.generation.speculative.accepted > 0);
}
