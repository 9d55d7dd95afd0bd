// Prompt-lookup speculative decoding in the engine: greedy output is token-identical to plain
// engine decoding (and every sampled-from row is the same bits), alone and in batches with
// sequences that do not speculate, under a small step budget and a small KV pool, at max_tokens,
// stop strings and a full context; seeded sampling is reproducible; the counters add up; options
// are checked at submit.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "engine/engine_test_support.hpp"
#include "support/error_code.hpp"
#include "support/stories_model.hpp"

using namespace llama3;
using namespace llama3::testing;

namespace {

const std::vector<std::string>& texts() {
  static const std::vector<std::string> all{
      "Once upon a time, there was a little girl named Lily. Once upon a time,",
      "The cat sat on the mat. The dog sat on the log. The cat",
      "Tom had a red ball. He liked to play with the ball in the park. One day, Tom",
      "Lily and Ben went to the park. Lily and Ben",
  };
  return all;
}

using Job = EngineJob;

Job job(std::size_t text, int max_tokens, int lookup_ngram = 0, int draft_max = 8) {
  Job j;
  j.prompt = stories_prompt(texts()[text % texts().size()]);
  j.generate.max_tokens = max_tokens;
  j.generate.speculative.lookup_ngram = lookup_ngram;
  j.generate.speculative.draft_max = draft_max;
  return j;
}

std::vector<RecordedRun> run_all(const std::vector<Job>& jobs, EngineOptions options,
                                 EngineStats* stats = nullptr) {
  return run_jobs(stories_model(), jobs, options, stats);
}

}  // namespace

TEST_CASE("engine prompt lookup is token-identical to plain engine decoding", "[engine]") {
  for (std::size_t text = 0; text < texts().size(); ++text) {
    const auto plain = run_all({job(text, 100)}, {.n_threads = 2, .n_ctx = 256});
    for (int draft_max : {1, 4, 12}) {
      INFO("text " << text << ", draft_max " << draft_max);
      const auto spec = run_all({job(text, 100, 3, draft_max)}, {.n_threads = 2, .n_ctx = 256});
      check_same_run(plain[0], spec[0]);
      const auto& stats = spec[0].result.generation.speculative;
      CHECK(stats.accepted <= stats.drafted);
      // One pass per generating step, each keeping its accepted drafts and then the model's own
      // token (the first token comes from the prompt's pass; a last own token that ends the
      // generation, as an end-of-text does, is not kept).
      const int n_tokens = static_cast<int>(spec[0].result.generation.tokens.size());
      CHECK(stats.target_passes + stats.accepted + 1 >= n_tokens);
      CHECK(stats.target_passes + stats.accepted <= n_tokens);
    }
  }
}

TEST_CASE("prompt lookup finds and keeps drafts on repetitive text", "[engine]") {
  EngineStats stats;
  const auto runs = run_all({job(1, 120, 3, 8)}, {.n_threads = 2, .n_ctx = 256}, &stats);
  const auto& spec = runs[0].result.generation.speculative;
  CHECK(spec.drafted > 0);
  CHECK(spec.accepted > 0);
  CHECK(stats.n_drafted == static_cast<std::uint64_t>(spec.drafted));
  CHECK(stats.n_draft_accepted == static_cast<std::uint64_t>(spec.accepted));
}

TEST_CASE("speculating and plain sequences share steps and each gives what it gives alone",
          "[engine]") {
  std::vector<Job> jobs;
  for (std::size_t i = 0; i < 8; ++i) {
    jobs.push_back(job(i, 40 + static_cast<int>(i) * 9,
                       i % 2 == 0 ? 2 + static_cast<int>(i % 3) : 0, 3 + static_cast<int>(i)));
  }
  jobs[5].generate.stop_strings = {" the", "."};
  std::vector<RecordedRun> alone;
  for (Job j : jobs) {
    j.generate.speculative.lookup_ngram = 0;
    alone.push_back(run_all({j}, {.n_threads = 2, .n_ctx = 256})[0]);
  }
  // A budget of 12 rows leaves drafts little room beside prompt chunks; 160 KV positions (5
  // blocks) hold one or two sequences, so sequences wait and drafts often find no free block.
  const int budget = GENERATE(12, 256);
  const int kv_tokens = GENERATE(160, 0);
  EngineStats stats;
  const auto together = run_all(
      jobs, {.n_threads = 2, .n_ctx = 256, .kv_tokens = kv_tokens, .max_step_tokens = budget},
      &stats);
  std::uint64_t drafted = 0, accepted = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    INFO("budget " << budget << ", kv_tokens " << kv_tokens << ", sequence " << i);
    check_same_run(alone[i], together[i]);
    drafted += static_cast<std::uint64_t>(together[i].result.generation.speculative.drafted);
    accepted += static_cast<std::uint64_t>(together[i].result.generation.speculative.accepted);
    if (jobs[i].generate.speculative.lookup_ngram == 0) {
      CHECK(together[i].result.generation.speculative.drafted == 0);
    }
  }
  CHECK(stats.n_drafted == drafted);
  CHECK(stats.n_draft_accepted == accepted);
  CHECK(drafted > 0);
}

TEST_CASE("engine prompt lookup stops at max_tokens and a full context as plain decoding does",
          "[engine]") {
  for (int max_tokens : {1, 2, 3, 7}) {
    INFO("max_tokens " << max_tokens);
    check_same_run(run_all({job(1, max_tokens)}, {.n_threads = 2, .n_ctx = 256})[0],
                   run_all({job(1, max_tokens, 2, 8)}, {.n_threads = 2, .n_ctx = 256})[0]);
  }
  const int n_ctx = static_cast<int>(stories_prompt(texts()[0]).size()) + 30;
  const auto plain = run_all({job(0, 500)}, {.n_threads = 2, .n_ctx = n_ctx});
  REQUIRE(plain[0].result.generation.stop_reason == StopReason::kContextFull);
  check_same_run(plain[0], run_all({job(0, 500, 2, 8)}, {.n_threads = 2, .n_ctx = n_ctx})[0]);
}

TEST_CASE("seeded sampling with engine prompt lookup is reproducible", "[engine]") {
  Job j = job(0, 80, 3, 6);
  j.temperature = 0.8f;
  j.seed = 1234;
  const auto first = run_all({j, job(2, 30)}, {.n_threads = 2, .n_ctx = 256});
  const auto second = run_all({j}, {.n_threads = 2, .n_ctx = 256});
  CHECK(first[0].result.generation.tokens == second[0].result.generation.tokens);
  CHECK(first[0].result.generation.speculative.accepted ==
        second[0].result.generation.speculative.accepted);
  CHECK(first[0].result.generation.tokens.size() == 80);
}

TEST_CASE("the engine checks speculative options at submit", "[engine]") {
  Engine engine(stories_model(), {.n_threads = 1, .n_ctx = 64, .background = false});
  const auto submit = [&engine](int ngram, int draft_max, const Model* draft = nullptr) {
    return [&engine, ngram, draft_max, draft] {
      EngineRequest request;
      request.prompt = stories_prompt("Hi");
      request.generate.speculative.lookup_ngram = ngram;
      request.generate.speculative.draft_max = draft_max;
      request.generate.speculative.draft_model = draft;
      engine.submit(std::move(request));
    };
  };
  CHECK(code_of(submit(17, 4)) == ErrorCode::kInvalidArgument);
  CHECK(code_of(submit(-1, 4)) == ErrorCode::kInvalidArgument);
  CHECK(code_of(submit(2, 0)) == ErrorCode::kInvalidArgument);
  CHECK(code_of(submit(2, 33)) == ErrorCode::kInvalidArgument);
  CHECK(code_of(submit(2, 4, &stories_model())) == ErrorCode::kInvalidArgument);  // both kinds
  CHECK(message_of(submit(2, 4, &stories_model())).find("not both") != std::string::npos);
  CHECK(code_of(submit(0, 4, &stories_model())) == ErrorCode::kOk);  // a draft model
  CHECK(code_of(submit(16, 32)) == ErrorCode::kOk);
}
