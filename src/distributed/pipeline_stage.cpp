// The ranks after the first: run the forward stages rank 0 asks for until it shuts the pipeline.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "distributed/pipeline_impl.hpp"
#include "llama3/error.hpp"
#include "runtime/context_shift.hpp"

namespace llama3::distributed {
namespace {

[[noreturn]] void bad_message(int rank, const std::string& why) {
  throw Error(ErrorCode::kBadFormat,
              "pipeline: rank " + std::to_string(rank) + " received a malformed message: " + why);
}

}  // namespace

void PipelineImpl::serve() {
  if (rank() == 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "pipeline: serve() is for ranks other than 0; rank 0 decodes");
  }
  const ModelConfig& config = model().config();
  const auto dim = static_cast<std::size_t>(config.dim);
  const auto n_vocab = static_cast<std::size_t>(config.n_vocab);
  constexpr int kMaxRows = runtime::ForwardPass::kMaxBatch;
  std::vector<std::byte> incoming(
      sizeof(MessageHeader) +
      std::max(hidden_bytes(kMaxRows), static_cast<std::size_t>(n_ranks()) * sizeof(RankRecord)));
  std::vector<float> logits;  // [kMaxBatch, n_vocab] on the last rank
  if (is_last()) logits.resize(static_cast<std::size_t>(kMaxRows) * n_vocab);
  std::vector<runtime::ForwardRow> rows;
  const std::string to_root = "rank " + std::to_string(rank()) + " answering rank 0";

  for (;;) {
    MPI_Request request = channel_.start_receive(rank() - 1, kTagDown, incoming);
    // Idle between requests (a user typing, a server without clients) is not a fault: no timeout
    // here. Rank 0 times out on its side, and ends the job.
    const std::size_t n_bytes =
        channel_.wait(request, MpiChannel::kNoTimeout, "waiting for work", /*counted=*/false);
    if (n_bytes < sizeof(MessageHeader)) bad_message(rank(), "shorter than its header");
    MessageHeader header;
    std::memcpy(&header, incoming.data(), sizeof header);
    const std::span<const std::byte> payload =
        std::span<const std::byte>(incoming).subspan(sizeof header, n_bytes - sizeof header);

    switch (static_cast<Command>(header.command)) {
      case Command::kShutdown:
        if (!is_last()) send_down(header, {});
        finish_sends();
        return;

      case Command::kStats: {
        const bool reset = header.wants != 0;
        if (header.n_rows != rank() ||
            payload.size() != static_cast<std::size_t>(header.n_rows) * sizeof(RankRecord)) {
          bad_message(rank(), "a counters message does not hold one record per earlier rank");
        }
        std::vector<RankRecord> records(static_cast<std::size_t>(header.n_rows) + 1);
        std::memcpy(records.data(), payload.data(), payload.size());
        records.back() = own_record(reset);
        header.n_rows += 1;
        const std::span<const std::byte> bytes{reinterpret_cast<const std::byte*>(records.data()),
                                               records.size() * sizeof(RankRecord)};
        if (is_last()) {
          MPI_Request answer = channel_.start_send(0, kTagStats, bytes);
          channel_.wait(answer, options_.timeout_seconds, to_root, /*counted=*/false);
        } else {
          send_down(header, bytes);
        }
        if (reset) channel_.reset_counters();
        break;
      }

      case Command::kForward: {
        const int n = header.n_rows;
        if (n < 1 || n > kMaxRows) bad_message(rank(), "row count " + std::to_string(n));
        if (header.first_position < 0 || header.first_position > context_size() - n) {
          bad_message(rank(), "positions from " + std::to_string(header.first_position) +
                                  " do not fit the context of " + std::to_string(context_size()) +
                                  " (do all ranks have the same -c?)");
        }
        if (payload.size() != hidden_bytes(n)) {
          bad_message(rank(), std::to_string(payload.size()) + " bytes of hidden state for " +
                                  std::to_string(n) + " rows of " + std::to_string(dim));
        }
        const auto wants = static_cast<Wants>(header.wants);
        if (wants != Wants::kNone && wants != Wants::kLast && wants != Wants::kAll) {
          bad_message(rank(), "unknown logits request " + std::to_string(header.wants));
        }
        rows.resize(static_cast<std::size_t>(n));
        for (int t = 0; t < n; ++t) {
          rows[static_cast<std::size_t>(t)] = {
              0, header.first_position + t, 0,
              wants == Wants::kAll || (wants == Wants::kLast && t + 1 == n)};
        }
        std::memcpy(stage_->forward.hidden(), payload.data(), payload.size());
        run_stage(rows);
        if (!is_last()) {
          send_down(header, {reinterpret_cast<const std::byte*>(stage_->forward.hidden()),
                             hidden_bytes(n)});
          break;
        }
        const auto start = MpiChannel::Clock::now();
        const int n_wanting = stage_->forward.output_logits(rows, logits.data());
        compute_seconds_ += std::chrono::duration<double>(MpiChannel::Clock::now() - start).count();
        if (n_wanting > 0) {
          MPI_Request answer =
              channel_.start_send(0, kTagLogits,
                                  {reinterpret_cast<const std::byte*>(logits.data()),
                                   static_cast<std::size_t>(n_wanting) * n_vocab * sizeof(float)});
          channel_.wait(answer, options_.timeout_seconds, to_root);
        }
        break;
      }

      case Command::kShift: {
        const int n_keep = header.first_position;
        const int n_discard = header.n_rows;
        const int moved = header.wants;
        if (n_keep < 0 || n_discard <= 0 || moved < 0 ||
            n_keep + n_discard + moved > context_size()) {
          bad_message(rank(), "a shift keeping " + std::to_string(n_keep) + ", dropping " +
                                  std::to_string(n_discard) + " and moving " +
                                  std::to_string(moved) + " positions does not fit the context " +
                                  "of " + std::to_string(context_size()));
        }
        const auto start = MpiChannel::Clock::now();
        runtime::discard_positions(stage_->cache, detail::ModelAccess::impl(stage_->model), n_keep,
                                   n_discard, moved);
        compute_seconds_ += std::chrono::duration<double>(MpiChannel::Clock::now() - start).count();
        if (!is_last()) send_down(header, {});
        break;
      }

      case Command::kEngineOpen: {
        const std::size_t largest = serve_engine_open(header, payload);
        if (incoming.size() < largest) incoming.resize(largest);
        break;
      }

      case Command::kEngineForward:
        serve_engine_forward(header, payload, logits);
        break;

      default:
        bad_message(rank(), "unknown command " + std::to_string(header.command));
    }
  }
}

}  // namespace llama3::distributed
