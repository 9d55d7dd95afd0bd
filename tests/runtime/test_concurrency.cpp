// Work that runs on several threads at once, written to be run under ThreadSanitizer as well
// (scripts/tsan.sh, ctest label `tsan`): the kernels' thread pool, sessions sharing one Model
// from different threads, and the engine's worker thread against callers that poll and cancel.
// In the ordinary build these check the results; under TSan they also check that no two threads
// touch the same memory without ordering.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "kernels/thread_pool.hpp"
#include "llama3/engine.hpp"
#include "llama3/session.hpp"
#include "support/stories_model.hpp"

using namespace llama3;

TEST_CASE("the thread pool hands every index to exactly one thread, call after call",
          "[concurrency]") {
  kernels::ThreadPool pool(3, kernels::ThreadCount::kExact);  // more threads than cores too
  std::vector<int> hits(1013, 0);
  for (int round = 0; round < 200; ++round) {
    const std::size_t n = 1 + static_cast<std::size_t>(round * 5) % hits.size();
    if (round % 2 == 0) {
      pool.parallel_for(n, 4, [&](std::size_t begin, std::size_t end, int) {
        for (std::size_t i = begin; i < end; ++i) ++hits[i];
      });
    } else {
      pool.parallel_chunks(n, 7, [&](std::size_t begin, std::size_t end, int) {
        for (std::size_t i = begin; i < end; ++i) ++hits[i];
      });
    }
  }
  // Index i was inside the range of every round whose n exceeded it.
  for (std::size_t i = 0; i < hits.size(); ++i) {
    int expected = 0;
    for (int round = 0; round < 200; ++round) {
      expected += i < 1 + static_cast<std::size_t>(round * 5) % hits.size() ? 1 : 0;
    }
    REQUIRE(hits[i] == expected);
  }
}

TEST_CASE("two pools driven from two threads at once do not share work", "[concurrency]") {
  std::vector<long> totals(2, 0);
  std::vector<std::thread> drivers;
  for (int d = 0; d < 2; ++d) {
    drivers.emplace_back([&, d] {
      kernels::ThreadPool pool(2);
      std::vector<long> partial(2, 0);
      for (int round = 0; round < 100; ++round) {
        pool.parallel_for(1000, 8, [&](std::size_t begin, std::size_t end, int thread) {
          for (std::size_t i = begin; i < end; ++i) partial[thread] += static_cast<long>(i);
        });
      }
      totals[d] = partial[0] + partial[1];
    });
  }
  for (auto& driver : drivers) driver.join();
  CHECK(totals[0] == 100L * 999 * 1000 / 2);
  CHECK(totals[1] == totals[0]);
}

TEST_CASE("sessions on one shared Model generate from several threads as they do alone",
          "[concurrency][data]") {
  const Model& model = testing::stories_model();
  const std::vector<std::vector<TokenId>> prompts = {{1, 403, 407}, {1, 261, 378, 290}, {1, 89}};
  auto run = [&](const std::vector<TokenId>& prompt) {
    Session session(model, SessionOptions{.n_ctx = 128, .n_threads = 2});
    Sampler sampler = testing::greedy_sampler();
    GenerateOptions options;
    options.max_tokens = 24;
    return session.generate(prompt, sampler, options).tokens;
  };
  std::vector<std::vector<TokenId>> alone;
  for (const auto& prompt : prompts) alone.push_back(run(prompt));

  std::vector<std::vector<TokenId>> together(prompts.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    threads.emplace_back([&, i] { together[i] = run(prompts[i]); });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    CHECK(!alone[i].empty());
    CHECK(together[i] == alone[i]);
  }
}

TEST_CASE("the engine's worker runs while other threads poll, read stats and cancel",
          "[concurrency][engine][data]") {
  Engine engine(testing::stories_model(), {.n_threads = 2, .n_ctx = 256, .kv_tokens = 1024});
  std::vector<Engine::RequestId> ids;
  for (int i = 0; i < 6; ++i) {
    EngineRequest request;
    request.prompt = {1, static_cast<TokenId>(300 + i), 407};
    request.sampling.temperature = 0.0f;
    request.generate.max_tokens = 32;
    ids.push_back(engine.submit(std::move(request)));
  }
  std::atomic<bool> done{false};
  // (Catch2's assertions are not thread-safe: the watcher only records what it saw.)
  std::atomic<bool> stats_consistent{true};
  std::thread watcher([&] {
    while (!done.load()) {
      const EngineStats stats = engine.stats();
      if (stats.n_free_blocks > stats.n_blocks) stats_consistent = false;
      std::this_thread::yield();
    }
  });
  std::vector<std::string> streamed(ids.size());
  std::thread poller([&] {
    for (;;) {  // until they end (a hang here is a bug, and ctest's timeout reports it)
      bool any_running = false;
      for (std::size_t i = 1; i < ids.size(); i += 2) {
        const RequestState state = engine.poll(ids[i], streamed[i]);
        any_running |= state == RequestState::kQueued || state == RequestState::kRunning;
      }
      if (!any_running) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::thread canceller([&] {
    for (std::size_t i = 0; i < ids.size(); i += 4) engine.cancel(ids[i]);
  });
  canceller.join();
  poller.join();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const EngineResult result = engine.wait(ids[i]);
    CHECK((result.state == RequestState::kFinished || result.state == RequestState::kCancelled));
    if (i % 2 == 1) CHECK(streamed[i] == result.generation.text);
  }
  done = true;
  watcher.join();
  CHECK(stats_consistent.load());
  const EngineStats stats = engine.stats();
  CHECK(stats.n_running == 0);
  CHECK(stats.n_queued == 0);
}
