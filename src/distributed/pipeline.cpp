// A Pipeline's construction (load, agreement check) and rank 0's side: the session over the ranks.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "distributed/fingerprint.hpp"
#include "distributed/layer_split.hpp"
#include "distributed/pipeline_impl.hpp"
#include "kernels/thread_pool.hpp"
#include "llama3/error.hpp"
#include "llama3/log.hpp"
#include "runtime/context_shift.hpp"
#include "runtime/generation_loop.hpp"

namespace llama3::distributed {
namespace {

using Clock = std::chrono::steady_clock;

// This process's resident set (Linux /proc/self/statm: pages); 0 where unknown.
std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void check_options(const PipelineOptions& options) {
  if (!(options.timeout_seconds > 0.0)) {
    throw Error(ErrorCode::kInvalidArgument, "pipeline: timeout_seconds must be > 0");
  }
  if (options.micro_batch < 0 || options.micro_batch > runtime::ForwardPass::kMaxBatch) {
    throw Error(ErrorCode::kInvalidArgument, "pipeline: micro_batch must be 0 (automatic) .. " +
                                                 std::to_string(runtime::ForwardPass::kMaxBatch) +
                                                 ", got " + std::to_string(options.micro_batch));
  }
  if (!options.load.use_mmap) {
    throw Error(ErrorCode::kInvalidArgument,
                "pipeline: use_mmap must stay on, so that each rank reads only its own layers");
  }
}

int context_for(const ModelConfig& config, const SessionOptions& options) {
  constexpr int kDefaultContextCap = 4096;  // as a Session's default
  if (options.n_ctx < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "n_ctx must be >= 0 (0 picks the model's), got " + std::to_string(options.n_ctx));
  }
  return options.n_ctx > 0 ? options.n_ctx : std::min(config.context_length, kDefaultContextCap);
}

}  // namespace

Stage::Stage(Model stage_model, LayerSpan layers, const SessionOptions& options)
    : model(std::move(stage_model)),
      pool(options.n_threads),
      cache(layers.last - layers.first, context_for(model.config(), options),
            model.config().n_kv_heads, model.config().head_dim, options.kv_cache_type),
      memory(cache, layers.first),
      forward(detail::ModelAccess::impl(model), memory, pool) {}

PipelineImpl::PipelineImpl(const std::filesystem::path& model_path, MPI_Comm communicator,
                           const PipelineOptions& options)
    : channel_(communicator), options_(options) {
  // Every rank reaches the all-gather below even when its own load fails, so that one bad rank
  // makes all of them stop with a message rather than leaving the others waiting.
  std::exception_ptr failure;
  std::optional<Model> model;
  Fingerprint print = failed_fingerprint();
  try {
    check_options(options_);
    model = detail::load_model_layers(
        model_path, options_.load, [&](const ModelConfig& config) -> detail::LayerRange {
          spans_ = split_layers(config.n_layers, n_ranks(), options_.split);
          const LayerSpan own = layers(rank());
          return {own.first, own.last};
        });
    print = fingerprint(detail::ModelAccess::impl(*model), options_, n_ranks());
  } catch (...) {
    failure = std::current_exception();
  }
  const std::uint64_t fields[Fingerprint::kFields] = {print.loaded, print.config, print.tokenizer,
                                                      print.tensors, print.options};
  const auto gathered = channel_.all_gather(fields);
  std::vector<Fingerprint> by_rank;
  for (std::size_t at = 0; at < gathered.size(); at += Fingerprint::kFields) {
    by_rank.push_back(
        {gathered[at], gathered[at + 1], gathered[at + 2], gathered[at + 3], gathered[at + 4]});
  }
  if (std::any_of(by_rank.begin(), by_rank.end(), [](const Fingerprint& f) { return !f.loaded; })) {
    // Every rank learns the first failure's message, so rank 0 (which talks to the user) can
    // say what went wrong where.
    std::string own_message;
    ErrorCode own_code = ErrorCode::kInternal;
    try {
      if (failure) std::rethrow_exception(failure);
    } catch (const Error& error) {
      own_message = error.what();
      own_code = error.code();
    } catch (const std::exception& error) {
      own_message = error.what();
    }
    const auto messages = channel_.all_gather_text(own_message);
    const std::uint64_t code = static_cast<std::uint64_t>(own_code);
    const auto codes = channel_.all_gather(std::span(&code, 1));
    for (std::size_t r = 0; r < by_rank.size(); ++r) {
      if (by_rank[r].loaded) continue;
      const bool everywhere = std::none_of(by_rank.begin(), by_rank.end(),
                                           [](const Fingerprint& f) { return f.loaded; });
      throw Error(static_cast<ErrorCode>(codes[r]),
                  everywhere ? messages[r]
                             : "pipeline: rank " + std::to_string(r) +
                                   " could not load its layers: " + messages[r]);
    }
  }
  if (const std::string difference = describe_disagreement(by_rank); !difference.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "pipeline: " + difference);
  }
  // mpirun binds each rank to one core when it starts two or fewer: a rank alone on a many-core
  // machine would then compute on one core of it.
  const int usable = kernels::usable_cpus();
  const auto hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (usable == 1 && hardware > 1) {
    log_message(LogLevel::kWarning,
                "pipeline: rank " + std::to_string(rank()) +
                    " may run on only 1 of its machine's " + std::to_string(hardware) +
                    " CPUs (mpirun binds a rank to a core by default when it starts 2 or fewer); "
                    "start mpirun with --bind-to none to let it use them all");
  }
  stage_ = std::make_unique<Stage>(std::move(*model), layers(rank()), options_.session);
  const std::size_t slot_bytes =
      sizeof(MessageHeader) + hidden_bytes(runtime::ForwardPass::kMaxBatch);
  for (auto& slot : outgoing_) slot.bytes.resize(slot_bytes);
}

PipelineImpl::~PipelineImpl() {
  if (rank() != 0 || n_ranks() == 1 || broken_) return;
  try {
    MessageHeader header;
    header.command = static_cast<std::int32_t>(Command::kShutdown);
    send_down(header, {});
    finish_sends();
  } catch (...) {
    // Nothing more can be done from a destructor; the launcher ends the job.
  }
}

std::size_t PipelineImpl::hidden_bytes(int n_rows) const {
  return static_cast<std::size_t>(n_rows) * static_cast<std::size_t>(model().config().dim) *
         sizeof(float);
}

void PipelineImpl::require_root(const char* call) const {
  if (rank() != 0) {
    throw Error(ErrorCode::kInvalidArgument, std::string("pipeline: ") + call +
                                                 " is for rank 0; this is rank " +
                                                 std::to_string(rank()) + " (call serve())");
  }
}

void PipelineImpl::send_down(const MessageHeader& header, std::span<const std::byte> payload,
                             std::span<const std::byte> more) {
  Outgoing& slot = outgoing_[next_slot_];
  next_slot_ = (next_slot_ + 1) % kSendSlots;
  const std::string what =
      "rank " + std::to_string(rank()) + " sending to rank " + std::to_string(rank() + 1);
  try {
    channel_.wait(slot.request, options_.timeout_seconds, what);
  } catch (const Error&) {
    broken_ = true;
    throw;
  }
  const std::size_t n_bytes = sizeof(MessageHeader) + payload.size() + more.size();
  if (slot.bytes.size() < n_bytes) slot.bytes.resize(n_bytes);
  std::memcpy(slot.bytes.data(), &header, sizeof header);
  if (!payload.empty()) {
    std::memcpy(slot.bytes.data() + sizeof header, payload.data(), payload.size());
  }
  if (!more.empty()) {
    std::memcpy(slot.bytes.data() + sizeof header + payload.size(), more.data(), more.size());
  }
  slot.request = channel_.start_send(rank() + 1, kTagDown, std::span(slot.bytes).first(n_bytes));
}

void PipelineImpl::finish_sends() {
  for (auto& slot : outgoing_) {
    try {
      channel_.wait(
          slot.request, options_.timeout_seconds,
          "rank " + std::to_string(rank()) + " sending to rank " + std::to_string(rank() + 1));
    } catch (const Error&) {
      broken_ = true;
      throw;
    }
  }
}

void PipelineImpl::await_logits(std::vector<MPI_Request>& replies, const char* what_for) {
  const std::string last = std::to_string(n_ranks() - 1);
  const std::string what = std::string("rank 0 waiting for ") + what_for + " from rank " + last +
                           (n_ranks() > 2 ? " (through ranks 1.." + last + ")" : std::string());
  try {
    for (auto& reply : replies) channel_.wait(reply, options_.timeout_seconds, what);
  } catch (const Error&) {
    broken_ = true;
    throw;
  }
  finish_sends();
}

void PipelineImpl::require_healthy() const {
  if (broken_) {
    throw Error(ErrorCode::kIo,
                "pipeline: a rank stopped answering earlier; the pipeline is "
                "unusable (end the job)");
  }
}

void PipelineImpl::run_stage(std::span<const runtime::ForwardRow> rows) {
  const auto start = Clock::now();
  const LayerSpan own = layers(rank());
  stage_->forward.run_layers(rows, own.first, own.last);
  compute_seconds_ += seconds_since(start);
}

void PipelineImpl::decode_locally(std::span<const runtime::ForwardRow> rows) {
  const auto start = Clock::now();
  stage_->forward.run_rows(rows, logits_.data());
  compute_seconds_ += seconds_since(start);
}

void PipelineImpl::decode(std::span<const TokenId> tokens, bool all_logits) {
  require_root("decode");
  require_healthy();
  if (tokens.empty()) throw Error(ErrorCode::kInvalidArgument, "decode: no tokens given");
  const ModelConfig& config = model().config();
  for (TokenId id : tokens) {
    if (id < 0 || id >= config.n_vocab) {
      throw Error(ErrorCode::kInvalidArgument, "decode: token id " + std::to_string(id) +
                                                   " is outside the vocabulary of " +
                                                   std::to_string(config.n_vocab));
    }
  }
  if (static_cast<std::size_t>(n_past_) + tokens.size() >
      static_cast<std::size_t>(context_size())) {
    throw Error(ErrorCode::kContextFull, "decode: " + std::to_string(tokens.size()) +
                                             " tokens do not fit: " + std::to_string(n_past_) +
                                             " of " + std::to_string(context_size()) +
                                             " context positions are in use");
  }
  const auto start = Clock::now();
  const int n = static_cast<int>(tokens.size());
  rows_.resize(tokens.size());
  for (int t = 0; t < n; ++t) {
    rows_[static_cast<std::size_t>(t)] = {tokens[static_cast<std::size_t>(t)], n_past_ + t, 0,
                                          all_logits || t + 1 == n};
  }
  const auto n_vocab = static_cast<std::size_t>(config.n_vocab);
  logits_.resize((all_logits ? tokens.size() : 1) * n_vocab);

  if (n_ranks() == 1) {
    decode_locally(rows_);
  } else {
    // Micro-batches: while rank 1 runs batch k, rank 0 runs batch k+1, and so on down the line.
    const int micro = options_.micro_batch > 0
                          ? options_.micro_batch
                          : std::clamp((n + 2 * n_ranks() - 1) / (2 * n_ranks()), 1,
                                       runtime::ForwardPass::kMaxBatch);
    // The answers' receives go first, so the last rank never waits for rank 0 to be ready.
    std::vector<MPI_Request> replies;
    std::size_t logits_row = 0;
    for (int begin = 0; begin < n; begin += micro) {
      const int count = std::min(micro, n - begin);
      const std::size_t wanting =
          all_logits ? static_cast<std::size_t>(count) : (begin + count == n ? 1 : 0);
      if (wanting == 0) continue;
      auto* into = reinterpret_cast<std::byte*>(logits_.data() + logits_row * n_vocab);
      replies.push_back(channel_.start_receive(n_ranks() - 1, kTagLogits,
                                               {into, wanting * n_vocab * sizeof(float)}));
      logits_row += wanting;
    }
    for (int begin = 0; begin < n; begin += micro) {
      const int count = std::min(micro, n - begin);
      const auto rows = std::span<const runtime::ForwardRow>(rows_).subspan(
          static_cast<std::size_t>(begin), static_cast<std::size_t>(count));
      const auto compute_start = Clock::now();
      stage_->forward.embed(rows);
      compute_seconds_ += seconds_since(compute_start);
      run_stage(rows);
      MessageHeader header;
      header.command = static_cast<std::int32_t>(Command::kForward);
      header.n_rows = count;
      header.first_position = rows.front().position;
      header.wants = static_cast<std::int32_t>(all_logits           ? Wants::kAll
                                               : begin + count == n ? Wants::kLast
                                                                    : Wants::kNone);
      send_down(header, {reinterpret_cast<const std::byte*>(stage_->forward.hidden()),
                         hidden_bytes(count)});
    }
    await_logits(replies, "the logits");
  }
  n_past_ += n;
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  ++decode_calls_;
  decode_seconds_ += seconds_since(start);
}

void PipelineImpl::reset() {
  n_past_ = 0;
  tokens_.clear();
  logits_.clear();
}

void PipelineImpl::truncate(int n_tokens) {
  if (n_tokens < 0 || n_tokens > n_past_) {
    throw Error(ErrorCode::kInvalidArgument, "truncate: " + std::to_string(n_tokens) +
                                                 " is outside 0.." + std::to_string(n_past_) +
                                                 " (the tokens in the context)");
  }
  if (n_tokens == n_past_) return;
  // Every rank's cache rows past n_tokens are simply overwritten by the next decode: attention
  // reads only positions up to each row's own.
  n_past_ = n_tokens;
  tokens_.resize(static_cast<std::size_t>(n_tokens));
  logits_.clear();
}

void PipelineImpl::shift_context(int n_keep, int n_discard) {
  require_root("shift_context");
  require_healthy();
  if (n_keep < 0 || n_discard <= 0 || n_keep > n_past_ - n_discard) {
    throw Error(ErrorCode::kInvalidArgument, "shift_context: keeping " + std::to_string(n_keep) +
                                                 " and dropping " + std::to_string(n_discard) +
                                                 " does not fit the " + std::to_string(n_past_) +
                                                 " tokens in the context");
  }
  const int moved = n_past_ - n_keep - n_discard;
  // Every rank drops the same positions from its own layers. The message needs no answer: the
  // next forward message follows it down the same ranks, so each rank shifts before it runs on.
  MessageHeader header;
  header.command = static_cast<std::int32_t>(Command::kShift);
  header.first_position = n_keep;
  header.n_rows = n_discard;
  header.wants = moved;
  const auto start = MpiChannel::Clock::now();
  runtime::discard_positions(stage_->cache, detail::ModelAccess::impl(stage_->model), n_keep,
                             n_discard, moved);
  compute_seconds_ += std::chrono::duration<double>(MpiChannel::Clock::now() - start).count();
  if (n_ranks() > 1) send_down(header, {});
  n_past_ -= n_discard;
  const auto n_vocab = static_cast<std::size_t>(model().config().n_vocab);
  if (logits_.size() > n_vocab) {
    logits_.erase(logits_.begin(), logits_.end() - static_cast<std::ptrdiff_t>(n_vocab));
  }
  if (tokens_.size() >= static_cast<std::size_t>(n_keep + n_discard)) {
    tokens_.erase(tokens_.begin() + n_keep, tokens_.begin() + n_keep + n_discard);
  }
}

RankRecord PipelineImpl::own_record(bool reset) {
  const LayerSpan own = layers(rank());
  RankRecord record{static_cast<double>(own.first),
                    static_cast<double>(own.last),
                    compute_seconds_,
                    channel_.wait_seconds(),
                    static_cast<double>(channel_.messages_sent()),
                    static_cast<double>(channel_.bytes_sent()),
                    static_cast<double>(resident_bytes())};
  if (reset) {
    compute_seconds_ = 0.0;
    channel_.reset_counters();
  }
  return record;
}

PipelineStats PipelineImpl::stats(bool reset) {
  require_root("stats");
  std::vector<RankRecord> records(static_cast<std::size_t>(n_ranks()));
  // Rank 0's own record is read before the round's own messages are counted.
  records[0] = own_record(reset);
  if (n_ranks() > 1) {
    MessageHeader header;
    header.command = static_cast<std::int32_t>(Command::kStats);
    header.n_rows = 1;
    header.wants = reset ? 1 : 0;
    MPI_Request reply = channel_.start_receive(
        n_ranks() - 1, kTagStats,
        {reinterpret_cast<std::byte*>(records.data()), records.size() * sizeof(RankRecord)});
    send_down(header, {reinterpret_cast<const std::byte*>(records.data()), sizeof(RankRecord)});
    try {
      channel_.wait(reply, options_.timeout_seconds, "rank 0 collecting the ranks' counters",
                    /*counted=*/false);
    } catch (const Error&) {
      broken_ = true;
      throw;
    }
    finish_sends();
    if (reset) channel_.reset_counters();
  }
  PipelineStats stats;
  for (const RankRecord& record : records) {
    RankStats rank_stats;
    rank_stats.layers = {static_cast<int>(record.first_layer), static_cast<int>(record.last_layer)};
    rank_stats.compute_seconds = record.compute_seconds;
    rank_stats.wait_seconds = record.wait_seconds;
    rank_stats.messages_sent = static_cast<std::uint64_t>(record.messages_sent);
    rank_stats.bytes_sent = static_cast<std::uint64_t>(record.bytes_sent);
    rank_stats.resident_bytes = static_cast<std::uint64_t>(record.resident_bytes);
    stats.ranks.push_back(rank_stats);
  }
  stats.decode_calls = decode_calls_;
  stats.decode_seconds = decode_seconds_;
  if (reset) {
    decode_calls_ = 0;
    decode_seconds_ = 0.0;
  }
  return stats;
}

// ---------------------------------------------------------------------------------------------
// The public face.

Pipeline::Pipeline(const std::filesystem::path& model_path, int communicator,
                   const PipelineOptions& options) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    throw Error(ErrorCode::kInvalidArgument,
                "pipeline: MPI is not initialised (construct an MpiEnvironment first)");
  }
  impl_ = std::make_unique<PipelineImpl>(model_path, MPI_Comm_f2c(communicator), options);
}

Pipeline::~Pipeline() = default;

int Pipeline::rank() const {
  return impl_->rank();
}
int Pipeline::n_ranks() const {
  return impl_->n_ranks();
}
LayerSpan Pipeline::layers() const {
  return impl_->layers(impl_->rank());
}
LayerSpan Pipeline::layers(int r) const {
  if (r < 0 || r >= n_ranks()) {
    throw Error(ErrorCode::kInvalidArgument, "pipeline: no rank " + std::to_string(r));
  }
  return impl_->layers(r);
}
const Model& Pipeline::model() const {
  return impl_->model();
}
void Pipeline::serve() {
  impl_->serve();
}

std::span<const float> Pipeline::decode(std::span<const TokenId> tokens) {
  impl_->decode(tokens, /*all_logits=*/false);
  return impl_->logits();
}

std::span<const float> Pipeline::decode_all_logits(std::span<const TokenId> tokens) {
  impl_->decode(tokens, /*all_logits=*/true);
  return impl_->logits();
}

std::span<const float> Pipeline::logits() const {
  const auto& all = impl_->logits();
  const auto n_vocab = static_cast<std::size_t>(impl_->model().config().n_vocab);
  if (all.size() < n_vocab) return {};
  return std::span<const float>(all).last(n_vocab);
}

GenerateResult Pipeline::generate(std::span<const TokenId> prompt, Sampler& sampler,
                                  const GenerateOptions& options) {
  impl_->require_root("generate");
  return runtime::run_generation(*this, prompt, sampler, options);
}

int Pipeline::n_past() const {
  return impl_->n_past();
}
int Pipeline::context_size() const {
  return impl_->context_size();
}
void Pipeline::reset() {
  impl_->reset();
}
void Pipeline::truncate(int n_tokens) {
  impl_->truncate(n_tokens);
}
std::span<const TokenId> Pipeline::tokens() const {
  return impl_->tokens();
}
void Pipeline::shift_context(int n_keep, int n_discard) {
  impl_->shift_context(n_keep, n_discard);
}
bool Pipeline::failed() const {
  return impl_->failed();
}
PipelineStats Pipeline::stats(bool reset) {
  return impl_->stats(reset);
}
std::unique_ptr<Engine> Pipeline::make_engine(const EngineOptions& options) {
  return impl_->make_engine(options);
}

}  // namespace llama3::distributed
