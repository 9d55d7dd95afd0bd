// A fixed pool of worker threads for data-parallel loops. The calling thread takes part as worker
// 0, so a pool of n threads starts n-1 workers and `parallel_for` never uses more threads than
// asked.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace llama3::kernels {

// The CPUs this thread may run on: its affinity mask where the system has one (taskset, a
// container's cpuset, an MPI launcher binding a rank to a core), else the hardware threads.
int usable_cpus();

// Whether a pool may have more threads than this process may use CPUs.
enum class ThreadCount {
  // More than the machine has are clamped to what it has, with a warning (llama3/log.hpp): every
  // thread count a caller gives (SessionOptions, EngineOptions, convert, the bindings) passes here.
  kAtMostHardware,
  // Exactly as many as asked: for tests that oversubscribe on purpose.
  kExact,
};

class ThreadPool {
 public:
  // n_threads <= 0 means one per usable CPU (usable_cpus()).
  explicit ThreadPool(int n_threads, ThreadCount count = ThreadCount::kAtMostHardware);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs task(thread_index) on every thread of the pool (index 0 is the caller) and waits for all.
  void run_on_all(const std::function<void(int thread_index)>& task);

  // Splits [0, n) into one contiguous range per thread (ranges a multiple of `grain` except the
  // last) and runs body(begin, end, thread_index) on each; waits for all.
  void parallel_for(
      std::size_t n, std::size_t grain,
      const std::function<void(std::size_t begin, std::size_t end, int thread)>& body);

  // Hands out [0, n) in chunks of `chunk` (the last may be shorter) to whichever thread asks next
  // and runs body(begin, end, thread_index) on each; waits for all. When another process holds one
  // core for a while, the other thread takes over the remaining chunks instead of waiting.
  void parallel_chunks(
      std::size_t n, std::size_t chunk,
      const std::function<void(std::size_t begin, std::size_t end, int thread)>& body);

 private:
  void worker_loop(int thread_index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;  // guards only the sleep/wake hand-off
  std::condition_variable work_ready_;
  const std::function<void(int)>* task_ = nullptr;  // published by the generation_ increment
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace llama3::kernels
