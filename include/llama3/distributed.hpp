// Pipeline parallelism over MPI: one model's layers split across processes (ranks), usually one
// per machine, so a model larger than one machine's memory runs. Rank r maps only its own layers
// [first, last) of the same GGUF file or HF folder (rank 0 also the token embedding, the last rank
// the output layer) and keeps the keys/values of those layers only. Hidden states [n_rows, dim]
// flow from rank to rank by MPI point-to-point messages; the last rank sends the logits back to
// rank 0, which holds the tokenizer and sampler and talks to the user. Results are bit-identical
// to one process: every row's arithmetic is the same, only where it runs differs.
//
// Built only with -DLLAMA3_MPI=ON (link llama3_distributed); libllama3 itself never needs MPI.
// This header needs no mpi.h: a communicator is passed as its Fortran handle (MPI_Comm_c2f).
//
//   llama3::distributed::MpiEnvironment mpi;                  // MPI_Init_thread .. MPI_Finalize
//   llama3::distributed::Pipeline pipeline(path, mpi.world());
//   if (!pipeline.is_root()) { pipeline.serve(); return 0; }  // until rank 0's pipeline ends
//   auto result = pipeline.generate(prompt, sampler, options);  // rank 0 only
//   auto engine = pipeline.make_engine(engine_options);         // or many at once, rank 0 only
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "llama3/engine.hpp"
#include "llama3/model.hpp"
#include "llama3/session.hpp"

// Everything declared here is exported; the rest of the library stays hidden.
#pragma GCC visibility push(default)

namespace llama3 {
class Sampler;
}

namespace llama3::distributed {

#pragma GCC visibility pop
class PipelineImpl;
#pragma GCC visibility push(default)

// Whether this process was started by an MPI launcher (mpirun/mpiexec of Open MPI, a PMIx or
// Slurm launch), read from the environment the launcher sets; false for a plain start.
bool launched_by_mpi();

// MPI for the life of this object (MPI_Init_thread with MPI_THREAD_SERIALIZED, then MPI_Finalize).
// One per process; an app that initialises MPI itself does not need it (a pipeline's engine needs
// MPI_THREAD_SERIALIZED or more when it runs steps on its own thread).
class MpiEnvironment {
 public:
  MpiEnvironment();
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  int world() const;  // MPI_COMM_WORLD as a Fortran handle, for Pipeline
  int rank() const;   // in MPI_COMM_WORLD
  int size() const;
  // Waits until every rank of MPI_COMM_WORLD reaches it. After a failure that every rank saw
  // together, rank 0 prints the message first and the others wait here: a rank that exited at
  // once would make mpirun kill rank 0 before its message got out.
  void barrier() const;
  // Ends every rank of the job (MPI_Abort): the way out after a pipeline reported a dead or hung
  // rank, whose partners would otherwise wait for it for ever.
  [[noreturn]] static void abort(int exit_code);

 private:
  bool finalize_ = false;
};

struct LayerSpan {
  int first = 0;  // the rank's first layer
  int last = 0;   // one past its last
};

struct PipelineOptions {
  // n_ctx, n_threads and the KV type, the same on every rank (checked). n_threads 0: one per
  // hardware thread of the rank's machine.
  SessionOptions session;
  // How many layers each rank runs: one value per rank, either layer counts that add up to the
  // model's layers ("10,6") or shares of them ("0.6,0.4"). Empty: as even as the counts allow.
  std::vector<double> split;
  // Prompt rows per message between ranks: rank 0 runs micro-batch k+1 while rank 1 runs k, and
  // so on down the pipeline. 0 picks a size from the prompt length and the number of ranks.
  int micro_batch = 0;
  // How long rank 0 waits for an answer before it declares a rank dead or hung (Error kIo).
  double timeout_seconds = 300.0;
  LoadOptions load;  // use_mmap must stay on for a rank to map only its own share
};

// Counters of every rank, collected by Pipeline::stats() on rank 0.
struct RankStats {
  LayerSpan layers;
  double compute_seconds = 0.0;  // in the rank's forward stages
  double wait_seconds = 0.0;     // in MPI calls waiting for a send to finish or an answer to come
  std::uint64_t messages_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t resident_bytes = 0;  // the rank's resident memory (RSS) when the counters were read
};

struct PipelineStats {
  std::vector<RankStats> ranks;  // by rank
  int decode_calls = 0;          // decode()s on rank 0 since the last reset
  double decode_seconds = 0.0;   // their wall time on rank 0
};

class Pipeline {
 public:
  // Collective: every rank of `communicator` constructs its Pipeline with the same model path and
  // options. Each loads its layers, then the ranks compare a fingerprint of the configuration,
  // tokenizer, tensor types and sizes, and the options; any difference throws (kInvalidArgument,
  // naming the rank and what differs) on every rank. A rank that fails to load makes every rank
  // throw. Needs at least one layer per rank.
  Pipeline(const std::filesystem::path& model_path, int communicator,
           const PipelineOptions& options = {});
  // Rank 0 tells the other ranks to leave serve().
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  int rank() const;
  int n_ranks() const;
  bool is_root() const { return rank() == 0; }
  LayerSpan layers() const;       // this rank's
  LayerSpan layers(int r) const;  // rank r's
  // This rank's share of the model: the configuration and tokenizer are whole; only the rank's own
  // weights are bound (a Session or Engine refuses it).
  const Model& model() const;

  // Ranks other than 0: runs the forward stages rank 0 asks for, until rank 0's Pipeline is
  // destroyed. Throws on a malformed message (kBadFormat).
  void serve();

  // Rank 0 only (kInvalidArgument elsewhere): a Session over the whole pipeline. decode runs the
  // tokens through every rank and returns the logits of the last [n_vocab]; a dead or hung rank
  // throws kIo after timeout_seconds, and the pipeline is then unusable (MpiEnvironment::abort).
  std::span<const float> decode(std::span<const TokenId> tokens);
  std::span<const float> decode_all_logits(std::span<const TokenId> tokens);  // [n_tokens, n_vocab]
  std::span<const float> logits() const;
  // Session::generate's loop and options, over the pipeline (context_shift included).
  GenerateResult generate(std::span<const TokenId> prompt, Sampler& sampler,
                          const GenerateOptions& options = {});
  int n_past() const;
  int context_size() const;
  void reset();
  void truncate(int n_tokens);
  std::span<const TokenId> tokens() const;
  // Session::shift_context: every rank drops the positions from its own layers' keys and values.
  void shift_context(int n_keep, int n_discard);

  // Rank 0 only: a batched Engine (llama3/engine.hpp) over the pipeline, for many sequences at
  // once. Each step's rows (every generating sequence's next token, prompt chunks) pass through the
  // ranks as a decode's do, in micro-batches (PipelineOptions::micro_batch; 0: the step split into
  // one part per rank) so that the ranks work at once; every rank keeps its layers' keys and values
  // in a KV pool of the same blocks. Results are bit-identical to an Engine in one process.
  // Destroy the engine before the pipeline, and make no other rank-0 call (decode, generate,
  // stats) while it lives; failed() may be called from any thread. Requests with LoRA adapters are
  // refused (kUnsupported). With options.background the steps' MPI calls come from the engine's
  // thread: MPI must provide MPI_THREAD_SERIALIZED (kUnsupported otherwise). One rank: a plain
  // Engine over the whole model.
  std::unique_ptr<Engine> make_engine(const EngineOptions& options = {});

  // Whether a rank stopped answering (a decode or an engine step threw kIo on its deadline): the
  // pipeline is then unusable and MpiEnvironment::abort is the way out. Any thread.
  bool failed() const;

  // Rank 0 only: every rank's counters (one message round); with reset, zeroes them after.
  PipelineStats stats(bool reset = false);

 private:
  std::unique_ptr<PipelineImpl> impl_;
};

}  // namespace llama3::distributed

#pragma GCC visibility pop
