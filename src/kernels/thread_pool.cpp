#include "kernels/thread_pool.hpp"

#ifdef __linux__
#include <sched.h>
#endif

#include <algorithm>
#include <chrono>
#include <string>

#include "llama3/log.hpp"

namespace llama3::kernels {

int usable_cpus() {
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#ifdef __linux__
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    const int count = CPU_COUNT(&allowed);
    if (count > 0) return std::min(count, hardware);
  }
#endif
  return hardware;
}

ThreadPool::ThreadPool(int n_threads, ThreadCount count) {
  const int available = usable_cpus();
  if (n_threads <= 0) {
    n_threads = available;
  } else if (n_threads > available && count == ThreadCount::kAtMostHardware) {
    // Threads beyond the usable CPUs only take turns on them (a spinning pool badly so), and a
    // huge count (a typo, an unchecked binding argument) would exhaust the process's threads.
    const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const std::string asked = std::to_string(n_threads) + " threads asked for, ";
    const std::string using_text = "; using " + std::to_string(available);
    if (available < hardware) {
      log_message(LogLevel::kWarning,
                  asked + "but this process may run on only " + std::to_string(available) +
                      " of the machine's " + std::to_string(hardware) +
                      " CPUs (its affinity: taskset, a cpuset, or mpirun binding each rank to a "
                      "core, which mpirun --bind-to none lifts)" +
                      using_text);
    } else {
      log_message(LogLevel::kWarning, asked + "more than the " + std::to_string(available) +
                                          " hardware threads" + using_text);
    }
    n_threads = available;
  }
  n_threads_ = n_threads;
  workers_.reserve(static_cast<std::size_t>(n_threads_ - 1));
  for (int index = 1; index < n_threads_; ++index) {
    workers_.emplace_back([this, index] { worker_loop(index); });
  }
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  { std::lock_guard lock(mutex_); }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

namespace {

// How long an idle thread spins before it sleeps: longer than the gaps between a token's matmuls,
// short enough not to burn a shared core for long when the session is idle.
constexpr auto kSpinTime = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");  // the ARM spin-loop hint
#endif
}

// Spins until done() or kSpinTime has passed; true when done() became true.
template <typename Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
}

}  // namespace

void ThreadPool::worker_loop(int thread_index) {
  std::uint64_t seen_generation = 0;
  for (;;) {
    const auto has_work = [&] {
      return stopping_.load() || generation_.load(std::memory_order_acquire) != seen_generation;
    };
    if (!spin_until(has_work)) {
      // Sequentially consistent with run_on_all: either it sees us sleeping, or we see its work.
      sleepers_.fetch_add(1);
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, has_work);
      sleepers_.fetch_sub(1);
    }
    if (stopping_.load()) return;
    seen_generation = generation_.load(std::memory_order_acquire);
    (*task_)(thread_index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run_on_all(const std::function<void(int)>& task) {
  if (n_threads_ == 1) {
    task(0);
    return;
  }
  task_ = &task;
  pending_.store(n_threads_ - 1);
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) {
    { std::lock_guard lock(mutex_); }
    work_ready_.notify_all();
  }
  task(0);
  const auto all_done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  while (!spin_until(all_done)) std::this_thread::yield();
  task_ = nullptr;
}

void ThreadPool::parallel_for(std::size_t n, std::size_t grain,
                              const std::function<void(std::size_t, std::size_t, int)>& body) {
  if (n == 0) return;
  grain = std::max<std::size_t>(grain, 1);
  const std::size_t n_grains = (n + grain - 1) / grain;
  const auto threads = static_cast<std::size_t>(n_threads_);
  if (threads == 1 || n_grains == 1) {
    body(0, n, 0);
    return;
  }
  run_on_all([&](int thread_index) {
    const auto t = static_cast<std::size_t>(thread_index);
    const std::size_t first_grain = n_grains * t / threads;
    const std::size_t last_grain = n_grains * (t + 1) / threads;
    const std::size_t begin = std::min(n, first_grain * grain);
    const std::size_t end = std::min(n, last_grain * grain);
    if (begin < end) body(begin, end, thread_index);
  });
}

void ThreadPool::parallel_chunks(std::size_t n, std::size_t chunk,
                                 const std::function<void(std::size_t, std::size_t, int)>& body) {
  if (n == 0) return;
  chunk = std::max<std::size_t>(chunk, 1);
  if (n_threads_ == 1 || n <= chunk) {
    body(0, n, 0);
    return;
  }
  std::atomic<std::size_t> next{0};
  run_on_all([&](int thread_index) {
    for (;;) {
      const std::size_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= n) return;
      body(begin, std::min(n, begin + chunk), thread_index);
    }
  });
}

}  // namespace llama3::kernels
