// The small communicator interface the pipeline talks through: MPI point-to-point messages of bytes
// with a deadline on every wait, and all-gathers. Waits poll (MPI_Test): briefly spinning, then
// with a growing sleep, so a rank waiting for its neighbour soon leaves the CPU to ranks that share
// its cores, and so a dead or hung partner becomes an error after the timeout instead of a hang.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace llama3::distributed {

class MpiChannel {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr double kNoTimeout = -1.0;

  // Collective over `communicator`, which it duplicates.
  explicit MpiChannel(MPI_Comm communicator);
  ~MpiChannel();
  MpiChannel(const MpiChannel&) = delete;
  MpiChannel& operator=(const MpiChannel&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Starts sending `bytes` (which must stay untouched until wait()ed) to rank `to`.
  MPI_Request start_send(int to, int tag, std::span<const std::byte> bytes);
  // Starts receiving at most `into.size()` bytes from rank `from`.
  MPI_Request start_receive(int from, int tag, std::span<std::byte> into);
  // Waits for `request`; returns the bytes it carried (receives). Throws Error kIo naming `what`
  // when timeout_seconds pass first (kNoTimeout: wait for ever). Counted as wait time when
  // `counted`.
  std::size_t wait(MPI_Request& request, double timeout_seconds, const std::string& what,
                   bool counted = true);
  // Whether `request` has finished (one MPI_Test), completing it if so.
  bool test(MPI_Request& request);

  // Every rank's `values` (the same count on each), rank by rank.
  std::vector<std::uint64_t> all_gather(std::span<const std::uint64_t> values);
  // Every rank's `text`, cut to kMaxGatheredText bytes, rank by rank.
  static constexpr std::size_t kMaxGatheredText = 1024;
  std::vector<std::string> all_gather_text(const std::string& text);

  double wait_seconds() const { return wait_seconds_; }
  std::uint64_t messages_sent() const { return messages_sent_; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  void reset_counters() {
    wait_seconds_ = 0.0;
    messages_sent_ = 0;
    bytes_sent_ = 0;
  }

 private:
  // How long a wait spins on MPI_Test, then yields, before it starts to sleep.
  static constexpr auto kSpinTime = std::chrono::microseconds(2000);
  static constexpr auto kYieldTime = std::chrono::microseconds(2000);

  MPI_Comm communicator_ = MPI_COMM_NULL;
  bool oversubscribed_ = false;  // more ranks on this machine than hardware threads
  int rank_ = 0;
  int size_ = 1;
  double wait_seconds_ = 0.0;
  std::uint64_t messages_sent_ = 0;
  std::uint64_t bytes_sent_ = 0;
};

}  // namespace llama3::distributed
