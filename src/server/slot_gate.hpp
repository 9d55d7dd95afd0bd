// Admission to the engine's slots: at most n_slots requests generate at once (--parallel), at most
// max_waiting more wait for a slot in arrival order, and anything beyond is told to come back later
// (429 with Retry-After) rather than held on an unbounded queue.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace llama3::server {

class SlotGate {
 public:
  SlotGate(int n_slots, int max_waiting) : n_slots_(n_slots), max_waiting_(max_waiting) {}

  // Holds a slot until destroyed.
  class Slot {
   public:
    explicit Slot(SlotGate* gate) : gate_(gate) {}
    Slot(Slot&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (gate_) gate_->release();
    }

   private:
    SlotGate* gate_;
  };

  // Blocks until a slot is free (first come, first served). Throws ApiError 429 with Retry-After
  // when max_waiting requests already wait, 503 once close() was called.
  Slot acquire();
  // Refuses every waiting and later request (shutdown).
  void close();

  int busy() const;
  int waiting() const;

 private:
  void release();

  const int n_slots_;
  const int max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  int busy_ = 0;
  int waiting_ = 0;
  std::uint64_t next_ticket_ = 0;     // arrival order of waiters
  std::uint64_t serving_ticket_ = 0;  // the waiter whose turn it is
  bool closed_ = false;
};

}  // namespace llama3::server
