// The inside of a Pipeline: this rank's share of the model, its KV cache and forward pass, the
// channel to its neighbours, and on rank 0 the session state (position, tokens, logits).
//
// Messages. Stage r sends to stage r+1 (tag kTagDown) one message per micro-batch: a
// MessageHeader followed by the hidden states [n_rows, dim] f32 after its layers. The last stage
// sends the logits rows that are wanted [n_wanting, n_vocab] straight back to rank 0 (kTagLogits).
// Rows of one message are consecutive positions of the one sequence. kStats collects a RankRecord
// from each rank on its way down and back (kTagStats); kShutdown ends every serve().
//
// An engine over the pipeline (pipeline_engine.cpp): kEngineOpen makes every rank a KV pool of the
// engine's blocks for its layers; kEngineForward carries a micro-batch of an engine step, rows of
// many sequences, with the block tables they use and the copy-on-write copies to do first.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "distributed/mpi_channel.hpp"
#include "engine/kv_pool.hpp"
#include "engine/paged_kv.hpp"
#include "kernels/thread_pool.hpp"
#include "llama3/distributed.hpp"
#include "model/model_impl.hpp"
#include "runtime/forward.hpp"
#include "runtime/kv_cache.hpp"
#include "runtime/layer_range_memory.hpp"

namespace llama3::distributed {

enum Tag : int { kTagDown = 101, kTagLogits = 102, kTagStats = 103 };

enum class Command : std::int32_t {
  kForward = 1,
  kStats = 2,
  kShutdown = 3,
  kEngineOpen = 4,
  kEngineForward = 5,
  kShift = 6,  // drop positions: first_position = n_keep, n_rows = n_discard, wants = moved
};

// Which rows of a kForward message want logits.
enum class Wants : std::int32_t { kNone = 0, kLast = 1, kAll = 2 };

struct MessageHeader {
  std::int32_t command = 0;
  std::int32_t n_rows = 0;          // kForward: rows; kStats: RankRecords that follow
  std::int32_t first_position = 0;  // kForward: the first row's position
  std::int32_t wants = 0;           // kForward: Wants; kStats: 1 to reset the counters after
  // kEngineForward: the counts of the int32 sections before the hidden states (EngineStep).
  std::int32_t n_copies = 0;
  std::int32_t n_sequences = 0;
  std::int32_t n_table_entries = 0;
  std::int32_t reserved = 0;
};
static_assert(sizeof(MessageHeader) == 32);

// One rank's counters as they travel in a kStats message.
struct RankRecord {
  double first_layer, last_layer, compute_seconds, wait_seconds, messages_sent, bytes_sent,
      resident_bytes;
};

// What a rank runs: its layers of the model, its KV cache, the forward pass over them.
struct Stage {
  Stage(Model model, LayerSpan layers, const SessionOptions& options);
  Model model;
  kernels::ThreadPool pool;
  runtime::KvCache cache;  // [its layers, n_ctx]
  runtime::LayerRangeMemory memory;
  runtime::ForwardPass forward;
};

// A rank's side of an engine over the pipeline: a KV pool of the engine's blocks holding this
// rank's layers, and a forward pass over it (pipeline_engine.cpp).
struct EngineStage {
  EngineStage(const Stage& stage, LayerSpan layers, KvCacheType type, int n_blocks, int n_ctx,
              kernels::ThreadPool& pool);
  engine::KvPool kv;
  engine::PagedKv paged;
  runtime::ForwardPass forward;
  int n_ctx;
  std::vector<std::vector<engine::BlockId>> tables;  // this message's, reused
};

class PipelineImpl {
 public:
  PipelineImpl(const std::filesystem::path& model_path, MPI_Comm communicator,
               const PipelineOptions& options);
  ~PipelineImpl();

  int rank() const { return channel_.rank(); }
  int n_ranks() const { return channel_.size(); }
  bool is_last() const { return rank() + 1 == n_ranks(); }
  LayerSpan layers(int r) const { return spans_[static_cast<std::size_t>(r)]; }
  const Model& model() const { return stage_->model; }

  // Rank 0.
  void decode(std::span<const TokenId> tokens, bool all_logits);
  const std::vector<float>& logits() const { return logits_; }
  int n_past() const { return n_past_; }
  int context_size() const { return stage_->cache.n_ctx(); }
  void reset();
  void truncate(int n_tokens);
  void shift_context(int n_keep, int n_discard);
  std::span<const TokenId> tokens() const { return tokens_; }
  PipelineStats stats(bool reset);

  // Rank 0's engine (pipeline_engine.cpp): what its StepRunner does.
  std::unique_ptr<Engine> make_engine(const EngineOptions& options);
  void engine_open(const engine::KvPool& pool, int n_ctx);
  void engine_copy(engine::BlockId from, engine::BlockId to, int n_positions);
  void engine_run(runtime::ForwardPass& forward, std::span<const runtime::ForwardRow> rows,
                  std::span<const std::vector<engine::BlockId>* const> tables, float* logits);

  // Other ranks (pipeline_stage.cpp, the engine's messages in pipeline_engine.cpp).
  void serve();

  void require_root(const char* call) const;
  bool failed() const { return broken_; }

 private:
  // Starts sending header + payload (+ more) to the next rank from a free slot of the send ring.
  void send_down(const MessageHeader& header, std::span<const std::byte> payload,
                 std::span<const std::byte> more = {});
  void finish_sends();  // waits for every slot's send
  // Rank 0: waits for the last rank's logits messages, then for its own sends.
  void await_logits(std::vector<MPI_Request>& replies, const char* what_for);
  RankRecord own_record(bool reset);
  // This stage's layers over rows already in forward.hidden() (embedded first on rank 0).
  void run_stage(std::span<const runtime::ForwardRow> rows);
  void decode_locally(std::span<const runtime::ForwardRow> rows);
  std::size_t hidden_bytes(int n_rows) const;
  // The other ranks' handling of the engine's messages; both return the bytes `incoming` must hold.
  std::size_t serve_engine_open(const MessageHeader& header, std::span<const std::byte> payload);
  void serve_engine_forward(const MessageHeader& header, std::span<const std::byte> payload,
                            std::vector<float>& logits);
  // Throws kIo when a wait timed out earlier.
  void require_healthy() const;

  MpiChannel channel_;
  PipelineOptions options_;
  std::vector<LayerSpan> spans_;
  std::unique_ptr<Stage> stage_;

  static constexpr std::size_t kSendSlots = 4;
  struct Outgoing {
    std::vector<std::byte> bytes;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  std::array<Outgoing, kSendSlots> outgoing_;
  std::size_t next_slot_ = 0;

  double compute_seconds_ = 0.0;
  std::atomic<bool> broken_{false};  // a wait timed out: the other ranks' state is unknown

  // Rank 0's session.
  std::vector<runtime::ForwardRow> rows_;
  std::vector<float> logits_;
  std::vector<TokenId> tokens_;
  int n_past_ = 0;
  int decode_calls_ = 0;
  double decode_seconds_ = 0.0;

  // Rank 0's engine: copies to send with the next step ([from, to, n_positions] each).
  std::vector<std::int32_t> engine_copies_;
  std::vector<std::int32_t> engine_meta_;  // a message's int32 sections, reused
  // The other ranks' engine stage, made by kEngineOpen.
  std::unique_ptr<EngineStage> engine_stage_;
};

}  // namespace llama3::distributed
