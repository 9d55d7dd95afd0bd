#include "kernels/thread_pool.hpp"

#include <algorithm>

namespace llama3::kernels {

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0)
    n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  n_threads_ = n_threads;
  workers_.reserve(static_cast<std::size_t>(n_threads_ - 1));
  for (int index = 1; index < n_threads_; ++index) {
    workers_.emplace_back([this, index] { worker_loop(index); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::worker_loop(int thread_index) {
  std::uint64_t seen_generation = 0;
  for (;;) {
    const std::function<void(int)>* task = nullptr;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen_generation; });
      if (stopping_) return;
      seen_generation = generation_;
      task = task_;
    }
    (*task)(thread_index);
    {
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) work_done_.notify_one();
    }
  }
}

void ThreadPool::run_on_all(const std::function<void(int)>& task) {
  if (n_threads_ == 1) {
    task(0);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    task_ = &task;
    pending_ = n_threads_ - 1;
    ++generation_;
  }
  work_ready_.notify_all();
  task(0);
  std::unique_lock lock(mutex_);
  work_done_.wait(lock, [&] { return pending_ == 0; });
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

}  // namespace llama3::kernels
