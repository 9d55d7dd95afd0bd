// An Engine over the pipeline. Rank 0's engine plans every step as in one process (admission,
// blocks, prefix cache, sampling) and runs its own layers; its StepRunner sends each micro-batch of
// the step down the ranks, which run their layers over KV pools of the same blocks, and the last
// rank sends the logits back. Only what changes a block's contents travels: the rows (their
// stores) and the engine's copy-on-write copies.
//
// A kEngineForward message after its header, all int32 but the hidden states:
//   copies   [n_copies][3]          from, to, n_positions: done before the rows
//   lengths  [n_sequences]          each block table's length
//   entries  [n_table_entries]      the tables, one after another
//   rows     [n_rows][3]            position, sequence (index into the tables), wants logits
//   hidden   [n_rows, dim] float    the residual stream after the sender's layers
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "distributed/pipeline_impl.hpp"
#include "engine/engine_impl.hpp"
#include "engine/step_runner.hpp"
#include "llama3/error.hpp"

namespace llama3::distributed {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kRowFields = 3;
constexpr int kCopyFields = 3;
constexpr int kOpenFields = 4;  // n_blocks, KV type, n_ctx, reserved

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::span<const std::byte> as_bytes(const std::vector<std::int32_t>& values) {
  return {reinterpret_cast<const std::byte*>(values.data()), values.size() * sizeof(std::int32_t)};
}

// The StepRunner of rank 0's engine: every call goes to the pipeline.
class PipelineStepRunner final : public engine::StepRunner {
 public:
  explicit PipelineStepRunner(PipelineImpl& pipeline) : pipeline_(pipeline) {}
  void open(const engine::KvPool& pool, int n_ctx) override { pipeline_.engine_open(pool, n_ctx); }
  void copy_positions(engine::BlockId from, engine::BlockId to, int n_positions) override {
    pipeline_.engine_copy(from, to, n_positions);
  }
  void run(runtime::ForwardPass& forward, std::span<const runtime::ForwardRow> rows,
           std::span<const std::vector<engine::BlockId>* const> tables, float* logits) override {
    pipeline_.engine_run(forward, rows, tables, logits);
  }
  bool supports_adapters() const override { return false; }

 private:
  PipelineImpl& pipeline_;
};

// The largest kEngineForward message for a context of n_ctx positions and a pool of n_blocks: a
// micro-batch holds at most kMaxBatch rows of at most kMaxBatch sequences, each table at most
// n_ctx / kBlockPositions long, and a step's copies (each into a distinct block of the pool).
std::size_t largest_engine_message(int n_ctx, int n_blocks, std::size_t hidden_bytes) {
  constexpr auto kRows = static_cast<std::size_t>(runtime::ForwardPass::kMaxBatch);
  const auto longest_table =
      static_cast<std::size_t>((n_ctx + engine::kBlockPositions - 1) / engine::kBlockPositions);
  const std::size_t ints = static_cast<std::size_t>(n_blocks) * kCopyFields + kRows +
                           kRows * longest_table + kRows * kRowFields;
  return sizeof(MessageHeader) + ints * sizeof(std::int32_t) + hidden_bytes;
}

}  // namespace

EngineStage::EngineStage(const Stage& stage, LayerSpan layers, KvCacheType type, int n_blocks,
                         int n_ctx, kernels::ThreadPool& pool)
    : kv(layers.last - layers.first, stage.model.config().n_kv_heads, stage.model.config().head_dim,
         type, n_blocks),
      paged(kv, stage.model.config().head_dim, layers.first),
      forward(detail::ModelAccess::impl(stage.model), paged, pool),
      n_ctx(n_ctx) {}

// ---------------------------------------------------------------------------------------------
// Rank 0.

std::unique_ptr<Engine> PipelineImpl::make_engine(const EngineOptions& options) {
  require_root("make_engine");
  require_healthy();
  if (n_ranks() == 1) return std::make_unique<Engine>(model(), options);
  if (options.background) {
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    if (level < MPI_THREAD_SERIALIZED) {
      throw Error(ErrorCode::kUnsupported,
                  "pipeline: an engine with background steps calls MPI from its own thread, which "
                  "needs MPI_THREAD_SERIALIZED (initialise MPI with MPI_Init_thread, or use "
                  "MpiEnvironment); or build it with background = false");
    }
  }
  engine_copies_.clear();
  return detail::EngineAccess::make(std::make_unique<detail::EngineImpl>(
      model(), options, std::make_unique<PipelineStepRunner>(*this)));
}

void PipelineImpl::engine_open(const engine::KvPool& pool, int n_ctx) {
  require_healthy();
  MessageHeader header;
  header.command = static_cast<std::int32_t>(Command::kEngineOpen);
  const std::vector<std::int32_t> fields = {pool.n_blocks(), static_cast<std::int32_t>(pool.type()),
                                            n_ctx, 0};
  send_down(header, as_bytes(fields));
  finish_sends();
}

void PipelineImpl::engine_copy(engine::BlockId from, engine::BlockId to, int n_positions) {
  engine_copies_.insert(engine_copies_.end(), {from, to, n_positions});
}

void PipelineImpl::engine_run(runtime::ForwardPass& forward,
                              std::span<const runtime::ForwardRow> rows,
                              std::span<const std::vector<engine::BlockId>* const> tables,
                              float* logits) {
  require_healthy();
  const auto n = static_cast<int>(rows.size());
  const auto n_vocab = static_cast<std::size_t>(model().config().n_vocab);
  const LayerSpan own = layers(0);
  // By default one part per rank, so that while rank 1 runs part k, rank 0 runs part k+1; but no
  // part under kMinPartRows rows: a few rows cost a rank nearly a whole read of its weights, so
  // splitting a small decode step multiplies the reads instead of overlapping work.
  constexpr int kMinPartRows = 16;
  const int micro = options_.micro_batch > 0
                        ? options_.micro_batch
                        : std::clamp(std::max((n + n_ranks() - 1) / n_ranks(), kMinPartRows), 1,
                                     runtime::ForwardPass::kMaxBatch);
  // The answers' receives go first, so the last rank never waits for rank 0 to be ready.
  std::vector<MPI_Request> replies;
  std::size_t logits_row = 0;
  for (int begin = 0; begin < n; begin += micro) {
    const int count = std::min(micro, n - begin);
    std::size_t wanting = 0;
    for (int t = begin; t < begin + count; ++t)
      wanting += rows[static_cast<std::size_t>(t)].wants_logits;
    if (wanting == 0) continue;
    auto* into = reinterpret_cast<std::byte*>(logits + logits_row * n_vocab);
    replies.push_back(channel_.start_receive(n_ranks() - 1, kTagLogits,
                                             {into, wanting * n_vocab * sizeof(float)}));
    logits_row += wanting;
  }
  std::vector<int> local_index(tables.size(), -1);  // step sequence -> index in the message
  for (int begin = 0; begin < n; begin += micro) {
    const int count = std::min(micro, n - begin);
    const auto part =
        rows.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(count));
    const auto compute_start = Clock::now();
    forward.embed(part);
    forward.run_layers(part, own.first, own.last);
    compute_seconds_ += seconds_since(compute_start);

    // The sequences of this part, in order of first appearance, and how much of each table the
    // part reads (up to its last row's block).
    std::vector<int> sequences;
    std::vector<int> needed;
    for (const auto& row : part) {
      int& index = local_index[static_cast<std::size_t>(row.sequence)];
      if (index < 0) {
        index = static_cast<int>(sequences.size());
        sequences.push_back(row.sequence);
        needed.push_back(0);
      }
      needed[static_cast<std::size_t>(index)] = std::max(
          needed[static_cast<std::size_t>(index)], row.position / engine::kBlockPositions + 1);
    }
    MessageHeader header;
    header.command = static_cast<std::int32_t>(Command::kEngineForward);
    header.n_rows = count;
    header.n_copies = static_cast<std::int32_t>(engine_copies_.size() / kCopyFields);
    header.n_sequences = static_cast<std::int32_t>(sequences.size());
    engine_meta_.assign(engine_copies_.begin(), engine_copies_.end());
    engine_copies_.clear();
    engine_meta_.insert(engine_meta_.end(), needed.begin(), needed.end());
    for (std::size_t k = 0; k < sequences.size(); ++k) {
      const auto& table = *tables[static_cast<std::size_t>(sequences[k])];
      engine_meta_.insert(engine_meta_.end(), table.begin(), table.begin() + needed[k]);
      header.n_table_entries += needed[k];
    }
    for (const auto& row : part) {
      engine_meta_.insert(engine_meta_.end(),
                          {row.position, local_index[static_cast<std::size_t>(row.sequence)],
                           row.wants_logits ? 1 : 0});
    }
    for (int sequence : sequences) local_index[static_cast<std::size_t>(sequence)] = -1;
    send_down(header, as_bytes(engine_meta_),
              {reinterpret_cast<const std::byte*>(forward.hidden()), hidden_bytes(count)});
  }
  await_logits(replies, "an engine step's logits");
}

// ---------------------------------------------------------------------------------------------
// The other ranks.

std::size_t PipelineImpl::serve_engine_open(const MessageHeader& header,
                                            std::span<const std::byte> payload) {
  if (payload.size() != kOpenFields * sizeof(std::int32_t)) {
    throw Error(ErrorCode::kBadFormat, "pipeline: rank " + std::to_string(rank()) +
                                           " received a malformed engine opening");
  }
  std::int32_t fields[kOpenFields];
  std::memcpy(fields, payload.data(), sizeof fields);
  const int n_blocks = fields[0], type = fields[1], n_ctx = fields[2];
  if (n_blocks < 1 || n_ctx < 1 || type < 0 || type > static_cast<int>(KvCacheType::kBf16)) {
    throw Error(ErrorCode::kBadFormat,
                "pipeline: rank " + std::to_string(rank()) + " received an engine opening for " +
                    std::to_string(n_blocks) + " blocks, context " + std::to_string(n_ctx) +
                    ", KV type " + std::to_string(type));
  }
  engine_stage_.reset();  // a new engine replaces the last one
  engine_stage_ = std::make_unique<EngineStage>(
      *stage_, layers(rank()), static_cast<KvCacheType>(type), n_blocks, n_ctx, stage_->pool);
  if (!is_last()) send_down(header, payload);
  return largest_engine_message(n_ctx, n_blocks, hidden_bytes(runtime::ForwardPass::kMaxBatch));
}

void PipelineImpl::serve_engine_forward(const MessageHeader& header,
                                        std::span<const std::byte> payload,
                                        std::vector<float>& logits) {
  const auto bad = [&](const std::string& why) {
    throw Error(ErrorCode::kBadFormat, "pipeline: rank " + std::to_string(rank()) +
                                           " received a malformed engine step: " + why);
  };
  if (!engine_stage_) bad("no engine was opened");
  EngineStage& stage = *engine_stage_;
  const int n = header.n_rows;
  if (n < 1 || n > runtime::ForwardPass::kMaxBatch) bad("row count " + std::to_string(n));
  if (header.n_copies < 0 || header.n_copies > stage.kv.n_blocks() || header.n_sequences < 1 ||
      header.n_sequences > n || header.n_table_entries < 0) {
    bad("section counts");
  }
  const std::size_t n_ints = static_cast<std::size_t>(header.n_copies) * kCopyFields +
                             static_cast<std::size_t>(header.n_sequences) +
                             static_cast<std::size_t>(header.n_table_entries) +
                             static_cast<std::size_t>(n) * kRowFields;
  const std::size_t meta_bytes = n_ints * sizeof(std::int32_t);
  if (payload.size() != meta_bytes + hidden_bytes(n)) bad("its size does not match its counts");
  engine_meta_.resize(n_ints);
  std::memcpy(engine_meta_.data(), payload.data(), meta_bytes);
  const std::int32_t* at = engine_meta_.data();
  const auto valid_block = [&](std::int32_t b) { return b >= 0 && b < stage.kv.n_blocks(); };

  for (int c = 0; c < header.n_copies; ++c, at += kCopyFields) {
    if (!valid_block(at[0]) || !valid_block(at[1]) || at[2] < 0 ||
        at[2] > engine::kBlockPositions) {
      bad("a block copy out of range");
    }
    stage.kv.copy_positions(at[0], at[1], at[2]);
  }
  const std::int32_t* lengths = at;
  at += header.n_sequences;
  std::int64_t total = 0;
  const int longest = (stage.n_ctx + engine::kBlockPositions - 1) / engine::kBlockPositions;
  for (int k = 0; k < header.n_sequences; ++k) {
    if (lengths[k] < 1 || lengths[k] > longest) bad("a block table's length");
    total += lengths[k];
  }
  if (total != header.n_table_entries) bad("block tables and their lengths disagree");
  stage.tables.resize(static_cast<std::size_t>(header.n_sequences));
  std::vector<const std::vector<engine::BlockId>*> tables;
  for (int k = 0; k < header.n_sequences; ++k) {
    auto& table = stage.tables[static_cast<std::size_t>(k)];
    table.assign(at, at + lengths[k]);
    at += lengths[k];
    if (!std::all_of(table.begin(), table.end(), valid_block)) bad("a block id out of range");
    tables.push_back(&table);
  }
  std::vector<runtime::ForwardRow> rows(static_cast<std::size_t>(n));
  for (int t = 0; t < n; ++t, at += kRowFields) {
    const int position = at[0], sequence = at[1];
    if (sequence < 0 || sequence >= header.n_sequences) bad("a row's sequence");
    if (position < 0 || position >= stage.n_ctx ||
        position / engine::kBlockPositions >= lengths[sequence]) {
      bad("a row's position " + std::to_string(position));
    }
    rows[static_cast<std::size_t>(t)] = {0, position, sequence, at[2] != 0};
  }
  stage.paged.set_tables(std::move(tables));
  std::memcpy(stage.forward.hidden(), payload.data() + meta_bytes, hidden_bytes(n));

  const LayerSpan own = layers(rank());
  const auto start = Clock::now();
  stage.forward.run_layers(rows, own.first, own.last);
  compute_seconds_ += seconds_since(start);
  if (!is_last()) {
    send_down(header, payload.first(meta_bytes),
              {reinterpret_cast<const std::byte*>(stage.forward.hidden()), hidden_bytes(n)});
    return;
  }
  const auto output_start = Clock::now();
  const int n_wanting = stage.forward.output_logits(rows, logits.data());
  compute_seconds_ += seconds_since(output_start);
  if (n_wanting > 0) {
    const auto n_vocab = static_cast<std::size_t>(model().config().n_vocab);
    MPI_Request answer =
        channel_.start_send(0, kTagLogits,
                            {reinterpret_cast<const std::byte*>(logits.data()),
                             static_cast<std::size_t>(n_wanting) * n_vocab * sizeof(float)});
    channel_.wait(answer, options_.timeout_seconds,
                  "rank " + std::to_string(rank()) + " answering rank 0");
  }
}

}  // namespace llama3::distributed
