#include "distributed/mpi_channel.hpp"

#include <algorithm>
#include <climits>
#include <thread>

#include "llama3/error.hpp"

namespace llama3::distributed {
namespace {

void check(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw Error(ErrorCode::kIo, std::string(call) + " failed: " + std::string(text, length));
}

int message_count(std::size_t n_bytes) {
  if (n_bytes > static_cast<std::size_t>(INT_MAX)) {
    throw Error(ErrorCode::kInternal,
                "an MPI message of " + std::to_string(n_bytes) + " bytes is over MPI's int count");
  }
  return static_cast<int>(n_bytes);
}

}  // namespace

MpiChannel::MpiChannel(MPI_Comm communicator) {
  // A communicator of our own: the pipeline's messages never meet the application's, and MPI's
  // errors come back as codes (an exception naming the call) instead of ending the job.
  check(MPI_Comm_dup(communicator, &communicator_), "MPI_Comm_dup");
  check(MPI_Comm_set_errhandler(communicator_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(communicator_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(communicator_, &size_), "MPI_Comm_size");
  // The ranks that share this machine's memory (and cores).
  MPI_Comm node = MPI_COMM_NULL;
  check(MPI_Comm_split_type(communicator_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  int ranks_here = 1;
  check(MPI_Comm_size(node, &ranks_here), "MPI_Comm_size");
  MPI_Comm_free(&node);
  oversubscribed_ = static_cast<unsigned>(ranks_here) > std::thread::hardware_concurrency();
}

MpiChannel::~MpiChannel() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Comm_free(&communicator_);
}

MPI_Request MpiChannel::start_send(int to, int tag, std::span<const std::byte> bytes) {
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Isend(bytes.data(), message_count(bytes.size()), MPI_BYTE, to, tag, communicator_,
                  &request),
        "MPI_Isend");
  ++messages_sent_;
  bytes_sent_ += bytes.size();
  return request;
}

MPI_Request MpiChannel::start_receive(int from, int tag, std::span<std::byte> into) {
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Irecv(into.data(), message_count(into.size()), MPI_BYTE, from, tag, communicator_,
                  &request),
        "MPI_Irecv");
  return request;
}

bool MpiChannel::test(MPI_Request& request) {
  int done = 0;
  check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
  return done != 0;
}

std::size_t MpiChannel::wait(MPI_Request& request, double timeout_seconds, const std::string& what,
                             bool counted) {
  if (request == MPI_REQUEST_NULL) return 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(std::max(timeout_seconds, 0.0)));
  // A neighbour's answer to one token is often microseconds away, and a rank put to sleep on a busy
  // machine may wait milliseconds for a core again: so spin on MPI_Test for a while (when this
  // node has a core per rank), then yield, then sleep a little longer each time (up to a quarter
  // millisecond) so a long wait leaves the cores to the ranks that compute.
  const auto spin_until = start + (oversubscribed_ ? std::chrono::microseconds(0) : kSpinTime);
  const auto yield_until = spin_until + kYieldTime;
  auto nap = std::chrono::microseconds(20);
  constexpr auto kLongestNap = std::chrono::microseconds(250);
  MPI_Status status;
  for (;;) {
    int done = 0;
    check(MPI_Test(&request, &done, &status), "MPI_Test");
    if (done) break;
    const auto now = Clock::now();
    if (timeout_seconds >= 0.0 && now > deadline) {
      throw Error(ErrorCode::kIo, what + ": no answer within " +
                                      std::to_string(static_cast<long>(timeout_seconds)) +
                                      " s; a rank of the pipeline has died or hangs");
    }
    if (now < spin_until) continue;
    if (now < yield_until) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, kLongestNap);
    }
  }
  if (counted) wait_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
  int n_bytes = 0;
  check(MPI_Get_count(&status, MPI_BYTE, &n_bytes), "MPI_Get_count");
  return n_bytes == MPI_UNDEFINED ? 0 : static_cast<std::size_t>(n_bytes);
}

std::vector<std::uint64_t> MpiChannel::all_gather(std::span<const std::uint64_t> values) {
  std::vector<std::uint64_t> all(values.size() * static_cast<std::size_t>(size_));
  const int count = message_count(values.size());
  check(MPI_Allgather(values.data(), count, MPI_UINT64_T, all.data(), count, MPI_UINT64_T,
                      communicator_),
        "MPI_Allgather");
  return all;
}

std::vector<std::string> MpiChannel::all_gather_text(const std::string& text) {
  std::vector<char> own(kMaxGatheredText, '\0');
  std::copy_n(text.begin(), std::min(text.size(), kMaxGatheredText - 1), own.begin());
  std::vector<char> all(kMaxGatheredText * static_cast<std::size_t>(size_));
  check(MPI_Allgather(own.data(), static_cast<int>(kMaxGatheredText), MPI_CHAR, all.data(),
                      static_cast<int>(kMaxGatheredText), MPI_CHAR, communicator_),
        "MPI_Allgather");
  std::vector<std::string> texts;
  for (std::size_t at = 0; at < all.size(); at += kMaxGatheredText) {
    texts.emplace_back(all.data() + at);  // each entry is zero-terminated above
  }
  return texts;
}

}  // namespace llama3::distributed
