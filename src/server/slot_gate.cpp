#include "server/slot_gate.hpp"

#include "server/api_error.hpp"

namespace llama3::server {
namespace {

ApiError closing() {
  ApiError error(503, "server_error", "the server is shutting down", {}, "unavailable");
  error.retry_after = 5;
  return error;
}

}  // namespace

SlotGate::Slot SlotGate::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) throw closing();
  if (waiting_ == 0 && busy_ < n_slots_) {
    ++busy_;
    return Slot(this);
  }
  if (waiting_ >= max_waiting_) {
    ApiError error(429, "requests",
                   "all " + std::to_string(n_slots_) + " slots are busy and " +
                       std::to_string(max_waiting_) + " requests are waiting; retry later",
                   {}, "rate_limit_exceeded");
    error.retry_after = 1;
    throw error;
  }
  const std::uint64_t ticket = next_ticket_++;
  ++waiting_;
  freed_.wait(lock, [&] { return closed_ || (ticket == serving_ticket_ && busy_ < n_slots_); });
  --waiting_;
  ++serving_ticket_;  // the next waiter's turn (also when this one leaves because of close)
  freed_.notify_all();
  if (closed_) throw closing();
  ++busy_;
  return Slot(this);
}

void SlotGate::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  freed_.notify_all();
}

void SlotGate::release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --busy_;
  }
  freed_.notify_all();
}

int SlotGate::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return busy_;
}

int SlotGate::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_;
}

}  // namespace llama3::server
