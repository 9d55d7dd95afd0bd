// Engine KV memory: prefix reuse is bit-identical, the pool runs out as documented, preempted
// sequences come back unchanged, and cancelling (from any thread, at any time) leaks no block.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "engine/engine_test_support.hpp"
#include "llama3/error.hpp"

using namespace llama3;
using namespace llama3::testing;

namespace {

std::vector<TokenId> joined(std::vector<TokenId> a, const std::vector<TokenId>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

RecordedRun run_fresh(const std::vector<TokenId>& prompt, int max_tokens, std::uint64_t seed) {
  Engine engine(engine_test_model(), {.n_threads = 2, .n_ctx = 512, .background = false});
  RecordedRun run;
  run.result = engine.wait(engine.submit(recording_request(prompt, max_tokens, seed, run)));
  return run;
}

// Every block is free or held by the prefix cache alone: nothing leaked.
void require_no_leak(const Engine& engine) {
  const EngineStats stats = engine.stats();
  CHECK(stats.n_running == 0);
  CHECK(stats.n_queued == 0);
  CHECK(stats.n_free_blocks + stats.n_cached_blocks == stats.n_blocks);
}

}  // namespace

TEST_CASE("a reused prompt prefix gives the logits of a fresh computation bit for bit",
          "[engine]") {
  const auto system = test_prompt(100, 3);  // three full blocks and a partial one
  const auto first = joined(system, test_prompt(7, 4));
  const auto second = joined(system, test_prompt(12, 5));
  Engine engine(engine_test_model(), {.n_threads = 2, .n_ctx = 512, .background = false});
  RecordedRun a, b;
  a.result = engine.wait(engine.submit(recording_request(first, 5, 1, a)));
  b.result = engine.wait(engine.submit(recording_request(second, 5, 2, b)));
  CHECK(a.result.n_reused_prompt_tokens == 0);
  CHECK(b.result.n_reused_prompt_tokens == 96);
  const RecordedRun fresh = run_fresh(second, 5, 2);
  CHECK(b.result.generation.tokens == fresh.result.generation.tokens);
  CHECK(same_bits(b.logits, fresh.logits));
  require_no_leak(engine);
}

TEST_CASE("a fully cached prompt recomputes its last token into a copied block", "[engine]") {
  const auto prompt = test_prompt(64, 8);  // exactly two blocks
  Engine engine(engine_test_model(), {.n_threads = 2, .n_ctx = 512, .background = false});
  RecordedRun a, b;
  a.result = engine.wait(engine.submit(recording_request(prompt, 9, 1, a)));
  // Running at the same time as a third user of the same prefix: the shared blocks stay intact.
  RecordedRun c;
  const auto id_b = engine.submit(recording_request(prompt, 9, 1, b));
  const auto id_c = engine.submit(recording_request(joined(prompt, test_prompt(3, 9)), 9, 4, c));
  b.result = engine.wait(id_b);
  c.result = engine.wait(id_c);
  CHECK(b.result.n_reused_prompt_tokens == 63);
  CHECK(c.result.n_reused_prompt_tokens == 64);
  CHECK(same_bits(b.logits, a.logits));
  CHECK(b.result.generation.tokens == a.result.generation.tokens);
  CHECK(same_bits(c.logits, run_fresh(joined(prompt, test_prompt(3, 9)), 9, 4).logits));
  require_no_leak(engine);
}

TEST_CASE("a prompt larger than the whole pool is refused with a reason", "[engine]") {
  Engine engine(engine_test_model(),
                {.n_threads = 1, .n_ctx = 512, .kv_tokens = 128, .background = false});
  RecordedRun run;
  const EngineResult result =
      engine.wait(engine.submit(recording_request(test_prompt(200, 1), 4, 1, run)));
  CHECK(result.state == RequestState::kRefused);
  CHECK(result.error.find("KV blocks") != std::string::npos);
  CHECK(result.generation.tokens.empty());
  require_no_leak(engine);
}

TEST_CASE("when the pool is full a request waits or is refused, as configured", "[engine]") {
  // 4 blocks; each request needs 3 for its prompt.
  const auto prompt_a = test_prompt(80, 1), prompt_b = test_prompt(90, 2);
  SECTION("refuse") {
    Engine engine(engine_test_model(), {.n_threads = 1,
                                        .n_ctx = 512,
                                        .kv_tokens = 128,
                                        .when_pool_full = WhenPoolFull::kRefuse,
                                        .prefix_cache = false,
                                        .background = false});
    RecordedRun a, b;
    const auto id_a = engine.submit(recording_request(prompt_a, 8, 1, a));
    const auto id_b = engine.submit(recording_request(prompt_b, 8, 2, b));
    a.result = engine.wait(id_a);
    b.result = engine.wait(id_b);
    CHECK(b.result.state == RequestState::kRefused);
    CHECK(b.result.error.find("pool is full") != std::string::npos);
    // The other request is unaffected.
    CHECK(a.result.state == RequestState::kFinished);
    CHECK(same_bits(a.logits, run_fresh(prompt_a, 8, 1).logits));
    require_no_leak(engine);
  }
  SECTION("wait") {
    Engine engine(engine_test_model(), {.n_threads = 1,
                                        .n_ctx = 512,
                                        .kv_tokens = 128,
                                        .prefix_cache = false,
                                        .background = false});
    RecordedRun a, b;
    const auto id_a = engine.submit(recording_request(prompt_a, 8, 1, a));
    const auto id_b = engine.submit(recording_request(prompt_b, 8, 2, b));
    engine.step();
    CHECK(engine.state(id_b) == RequestState::kQueued);
    a.result = engine.wait(id_a);
    b.result = engine.wait(id_b);
    CHECK(a.result.state == RequestState::kFinished);
    CHECK(b.result.state == RequestState::kFinished);
    CHECK(same_bits(b.logits, run_fresh(prompt_b, 8, 2).logits));
    require_no_leak(engine);
  }
}

TEST_CASE("sequences preempted for blocks resume and still match their lone runs", "[engine]") {
  // 6 blocks for three sequences that start with 2 blocks each and grow to 3: the newest gives
  // its blocks back and is recomputed later.
  std::vector<std::vector<TokenId>> prompts = {test_prompt(40, 1), test_prompt(45, 2),
                                               test_prompt(50, 3)};
  Engine engine(
      engine_test_model(),
      {.n_threads = 2, .n_ctx = 512, .kv_tokens = 192, .prefix_cache = false, .background = false});
  std::vector<RecordedRun> runs(prompts.size());
  std::vector<Engine::RequestId> ids;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    ids.push_back(engine.submit(recording_request(prompts[i], 30, 10 + i, runs[i])));
  }
  for (std::size_t i = 0; i < prompts.size(); ++i) runs[i].result = engine.wait(ids[i]);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    INFO("sequence " << i);
    REQUIRE(runs[i].result.state == RequestState::kFinished);
    const RecordedRun fresh = run_fresh(prompts[i], 30, 10 + i);
    CHECK(runs[i].result.generation.tokens == fresh.result.generation.tokens);
    CHECK(same_bits(runs[i].logits, fresh.logits));
  }
  require_no_leak(engine);
}

TEST_CASE("cancelling queued and running requests frees every block", "[engine]") {
  Engine engine(engine_test_model(), {.n_threads = 2, .n_ctx = 512, .max_step_tokens = 32});
  std::vector<Engine::RequestId> ids;
  std::vector<RecordedRun> runs(12);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    ids.push_back(engine.submit(recording_request(test_prompt(20 + 13 * i, i), 200, i, runs[i])));
  }
  // Cancel while steps run: some are queued, some prefilling, some generating.
  for (std::size_t i = 0; i < ids.size(); i += 2) CHECK(engine.cancel(ids[i]));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const EngineResult result = engine.wait(ids[i]);
    CHECK(result.state == (i % 2 == 0 ? RequestState::kCancelled : RequestState::kFinished));
  }
  CHECK_FALSE(engine.cancel(ids[1]));  // already collected
  require_no_leak(engine);
}

TEST_CASE("requests submitted and cancelled from many threads all end and leak nothing",
          "[engine][concurrency]") {
  Engine engine(engine_test_model(), {.n_threads = 2, .n_ctx = 512, .kv_tokens = 1024});
  std::atomic<int> finished{0}, cancelled{0};
  std::vector<std::thread> clients;
  for (unsigned t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (unsigned i = 0; i < 5; ++i) {
        EngineRequest request;
        request.prompt = test_prompt(10 + 17 * i, t * 5 + i);
        request.generate.max_tokens = 16;
        const auto id = engine.submit(std::move(request));
        if ((i + t) % 2 == 0) engine.cancel(id);
        const EngineResult result = engine.wait(id);
        if (result.state == RequestState::kFinished) ++finished;
        if (result.state == RequestState::kCancelled) ++cancelled;
      }
    });
  }
  for (auto& client : clients) client.join();
  // A cancel may come after the request already finished; every request ended one way or other.
  CHECK(finished + cancelled == 20);
  CHECK(cancelled >= 1);
  require_no_leak(engine);
}

TEST_CASE("bad requests and options are refused with clear errors", "[engine]") {
  CHECK_THROWS_AS(Engine(engine_test_model(), {.max_step_tokens = 0}), Error);
  Engine engine(engine_test_model(), {.n_threads = 1, .n_ctx = 64, .background = false});
  CHECK_THROWS_AS(engine.submit({}), Error);
  EngineRequest too_long;
  too_long.prompt = test_prompt(65, 1);
  CHECK_THROWS_AS(engine.submit(too_long), Error);
  EngineRequest bad_id;
  bad_id.prompt = {512};
  CHECK_THROWS_AS(engine.submit(bad_id), Error);
  CHECK_THROWS_AS(engine.state(12345), Error);
}
