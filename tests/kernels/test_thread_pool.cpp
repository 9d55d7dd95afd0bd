// The thread pool's size: a count above the machine's hardware threads is clamped, with a warning
// through the log sink (llama3/log.hpp), so that no surface (SessionOptions, EngineOptions,
// convert, the bindings) can start 100000 threads. (Its work splitting is tested under
// ThreadSanitizer in tests/runtime/test_concurrency.cpp.)
#include <catch2/catch.hpp>

#ifdef __linux__
#include <sched.h>
#endif

#include <algorithm>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kernels/thread_pool.hpp"
#include "llama3/log.hpp"

using namespace llama3;

namespace {

// Records what the library logs while it lives, then restores the default handler.
struct RecordedLog {
  std::vector<std::pair<LogLevel, std::string>> messages;
  RecordedLog() {
    set_log_handler([this](LogLevel level, std::string_view message) {
      messages.emplace_back(level, std::string(message));
    });
  }
  ~RecordedLog() { reset_log_handler(); }
  RecordedLog(const RecordedLog&) = delete;
  RecordedLog& operator=(const RecordedLog&) = delete;
};

int hardware_threads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

TEST_CASE("a thread count above the machine's is clamped with a warning", "[kernels]") {
  const int available = hardware_threads();
  RecordedLog log;
  {
    kernels::ThreadPool pool(100000);
    CHECK(pool.size() == available);
  }
  REQUIRE(log.messages.size() == 1);
  CHECK(log.messages[0].first == LogLevel::kWarning);
  CHECK(log.messages[0].second == "100000 threads asked for, more than the " +
                                      std::to_string(available) + " hardware threads; using " +
                                      std::to_string(available));
}

TEST_CASE("a thread count within the machine's, or 0, is taken without a warning", "[kernels]") {
  const int available = hardware_threads();
  RecordedLog log;
  CHECK(kernels::ThreadPool(available).size() == available);
  CHECK(kernels::ThreadPool(1).size() == 1);
  CHECK(kernels::ThreadPool(0).size() == available);
  CHECK(kernels::ThreadPool(available + 1, kernels::ThreadCount::kExact).size() == available + 1);
  CHECK(log.messages.empty());
}

#ifdef __linux__
TEST_CASE("a process bound to fewer CPUs than the machine's gets that many threads by default",
          "[kernels]") {
  cpu_set_t saved;
  REQUIRE(sched_getaffinity(0, sizeof saved, &saved) == 0);
  if (CPU_COUNT(&saved) < 2) {
    WARN("this process may use one CPU only: nothing to narrow");
    return;
  }
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  RecordedLog log;
  const int usable = kernels::usable_cpus();
  const int by_default = kernels::ThreadPool(0).size();
  const int clamped = kernels::ThreadPool(2).size();
  REQUIRE(sched_setaffinity(0, sizeof saved, &saved) == 0);
  CHECK(usable == 1);
  CHECK(by_default == 1);
  CHECK(clamped == 1);
  REQUIRE(log.messages.size() == 1);
  CHECK(log.messages[0].second.find("may run on only 1 of the machine's") != std::string::npos);
  CHECK(log.messages[0].second.find("--bind-to none") != std::string::npos);
  CHECK(kernels::usable_cpus() == std::min(CPU_COUNT(&saved), hardware_threads()));
}
#endif

TEST_CASE("an empty log handler silences the library", "[kernels]") {
  set_log_handler({});
  CHECK(kernels::ThreadPool(100000).size() == hardware_threads());
  reset_log_handler();
}
