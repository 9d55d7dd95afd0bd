// llama3.Pipeline: one model's layers split across the ranks of an MPI job
// (llama3/distributed.hpp), from Python. Rank 0 decodes, generates or runs an Engine over the
// pipeline; every other rank calls serve(). Present only in builds with the MPI pipeline
// (llama3.HAS_MPI).
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "llama3/error.hpp"
#include "llama3/sampler.hpp"

#ifdef LLAMA3_HAS_MPI
#include "llama3/distributed.hpp"
#endif

namespace llama3::python {

#ifdef LLAMA3_HAS_MPI
namespace {

using distributed::MpiEnvironment;
using distributed::Pipeline;

// MPI may be initialised once per process and finalised once: the first pipeline starts it, and
// it ends when the interpreter exits (atexit) and the last pipeline or engine holding it is gone.
// An MPI that the application (e.g. mpi4py) started is left to it.
std::shared_ptr<MpiEnvironment>& process_mpi() {
  static auto* mpi = new std::shared_ptr<MpiEnvironment>();
  return *mpi;
}

std::shared_ptr<MpiEnvironment> acquire_mpi() {
  auto& mpi = process_mpi();
  if (!mpi) mpi = std::make_shared<MpiEnvironment>();
  return mpi;
}

// The pipeline and the MPI it runs on, destroyed in that order (the pipeline's destructor sends
// its last message).
struct PipelineState {
  std::shared_ptr<MpiEnvironment> mpi;
  std::unique_ptr<Pipeline> pipeline;
  ~PipelineState() { pipeline.reset(); }
};

struct PyPipeline {
  std::shared_ptr<PipelineState> state;
  Pipeline& get() {
    if (!state) throw Error(ErrorCode::kInvalidArgument, "the pipeline is closed");
    return *state->pipeline;
  }
};

py::dict stats_dict(const distributed::PipelineStats& stats) {
  py::list ranks;
  for (const auto& rank : stats.ranks) {
    py::dict entry;
    entry["layers"] = py::make_tuple(rank.layers.first, rank.layers.last);
    entry["compute_seconds"] = rank.compute_seconds;
    entry["wait_seconds"] = rank.wait_seconds;
    entry["messages_sent"] = rank.messages_sent;
    entry["bytes_sent"] = rank.bytes_sent;
    entry["resident_bytes"] = rank.resident_bytes;
    ranks.append(entry);
  }
  py::dict result;
  result["ranks"] = ranks;
  result["decode_calls"] = stats.decode_calls;
  result["decode_seconds"] = stats.decode_seconds;
  return result;
}

py::dict generation_dict(const GenerateResult& result) {
  py::dict out;
  out["text"] = piece_to_str(result.text);
  out["tokens"] = result.tokens;
  out["stop_reason"] = stop_reason_name(result.stop_reason);
  out["n_prompt_tokens"] = result.n_prompt_tokens;
  out["prompt_seconds"] = result.prompt_seconds;
  out["generate_seconds"] = result.generate_seconds;
  return out;
}

void register_pipeline(py::module_& m) {
  py::class_<PyPipeline>(m, "Pipeline", R"doc(
One model's layers split across the ranks of an MPI job (pipeline parallelism), so that a model
larger than one machine's memory runs: start the script with `mpirun -np N python script.py`.
Every rank constructs the Pipeline with the same path and options (collective); each maps only its
own layers. Rank 0 (is_root) then decodes, generates or makes an Engine; every other rank calls
serve(), which returns when rank 0 closes its pipeline. Results are bit-identical to one process.
Usable as a context manager (close() on exit).

Arguments:
  path: a GGUF file or Hugging Face folder readable by every rank.
  n_ctx, n_threads, kv_cache_type: as for Model.session (the same on every rank, checked).
  split: layers per rank, as counts ([10, 6]) or shares ([0.6, 0.4]); None: as even as possible.
  micro_batch: prompt rows per message between ranks (0: picked from the length and rank count).
  timeout: seconds rank 0 waits for an answer before it declares a rank dead or hung (IoError).
  communicator: an MPI communicator as its Fortran handle (mpi4py: comm.py2f()); None: the world.

Example:
  >>> pipeline = llama3.Pipeline("model.gguf")
  >>> if not pipeline.is_root:
  ...     pipeline.serve()
  ... else:
  ...     engine = pipeline.engine()
  ...     print("".join(engine.submit("Once upon a time", max_tokens=32)))
  ...     engine.close()
  >>> pipeline.close()
)doc")
      .def(py::init([](const std::string& path, int n_ctx, int n_threads, KvCacheType kv_cache_type,
                       std::optional<std::vector<double>> split, int micro_batch, double timeout,
                       std::optional<int> communicator) {
             distributed::PipelineOptions options;
             options.session.n_ctx = n_ctx;
             options.session.n_threads = n_threads;
             options.session.kv_cache_type = kv_cache_type;
             if (split) options.split = *split;
             options.micro_batch = micro_batch;
             options.timeout_seconds = timeout;
             auto state = std::make_shared<PipelineState>();
             state->mpi = acquire_mpi();
             const int comm = communicator ? *communicator : state->mpi->world();
             {
               py::gil_scoped_release release;
               state->pipeline = std::make_unique<Pipeline>(path, comm, options);
             }
             return PyPipeline{std::move(state)};
           }),
           py::arg("path"), py::kw_only(), py::arg("n_ctx") = 0, py::arg("n_threads") = 0,
           py::arg("kv_cache_type") = KvCacheType::kF16, py::arg("split") = py::none(),
           py::arg("micro_batch") = 0, py::arg("timeout") = 300.0,
           py::arg("communicator") = py::none())
      .def_property_readonly(
          "rank", [](PyPipeline& self) { return self.get().rank(); }, "This process's rank.")
      .def_property_readonly(
          "n_ranks", [](PyPipeline& self) { return self.get().n_ranks(); }, "Ranks in the job.")
      .def_property_readonly(
          "is_root", [](PyPipeline& self) { return self.get().is_root(); },
          "Whether this is rank 0, the one that talks to the user.")
      .def(
          "layers",
          [](PyPipeline& self, std::optional<int> rank) {
            Pipeline& pipeline = self.get();
            if (rank && (*rank < 0 || *rank >= pipeline.n_ranks())) {
              throw Error(ErrorCode::kInvalidArgument, "rank " + std::to_string(*rank) +
                                                           " is not in 0.." +
                                                           std::to_string(pipeline.n_ranks() - 1));
            }
            const auto span = rank ? pipeline.layers(*rank) : pipeline.layers();
            return py::make_tuple(span.first, span.last);
          },
          py::arg("rank") = py::none(),
          "(first, one past last): the layers of `rank` (None: this one).")
      .def_property_readonly(
          "tokenizer",
          [](PyPipeline& self) {
            const Model& model = self.get().model();
            return PyTokenizer{model.tokenizer(), model.metadata_string("tokenizer.chat_template"),
                               std::make_shared<VocabularyCache>()};
          },
          "The model's tokenizer (every rank has it whole).")
      .def(
          "serve",
          [](PyPipeline& self) {
            Pipeline& pipeline = self.get();
            py::gil_scoped_release release;
            pipeline.serve();
          },
          "Ranks other than 0: runs what rank 0 asks for until rank 0 closes its pipeline.")
      .def(
          "decode",
          [](py::object self_object, const std::vector<TokenId>& ids) {
            Pipeline& pipeline = self_object.cast<PyPipeline&>().get();
            std::span<const float> logits;
            {
              py::gil_scoped_release release;
              logits = pipeline.decode(ids);
            }
            return logits_view(logits, self_object);
          },
          py::arg("ids"),
          "Rank 0: Session.decode over every rank (the same view rules: a read-only numpy array "
          "valid until the next call on this pipeline).")
      .def(
          "decode_all_logits",
          [](py::object self_object, const std::vector<TokenId>& ids) {
            Pipeline& pipeline = self_object.cast<PyPipeline&>().get();
            std::span<const float> logits;
            {
              py::gil_scoped_release release;
              logits = pipeline.decode_all_logits(ids);
            }
            return logits_rows_view(logits, ids.size(), self_object);
          },
          py::arg("ids"), "Rank 0: the logits of every position [len(ids), n_vocab].")
      .def(
          "generate",
          [](PyPipeline& self, const py::object& prompt, const py::object& sampler, int max_tokens,
             std::vector<std::string> stop) {
            Pipeline& pipeline = self.get();
            const std::vector<TokenId> ids = prompt_ids(pipeline.model().tokenizer(), prompt);
            Sampler defaults;
            Sampler& chosen = sampler.is_none() ? defaults : sampler.cast<Sampler&>();
            GenerateOptions options;
            options.max_tokens = max_tokens;
            options.stop_strings = std::move(stop);
            GenerateResult result;
            {
              py::gil_scoped_release release;
              result = pipeline.generate(ids, chosen, options);
            }
            return generation_dict(result);
          },
          py::arg("prompt"), py::kw_only(), py::arg("sampler") = py::none(),
          py::arg("max_tokens") = 256, py::arg("stop") = std::vector<std::string>{}, R"doc(
Rank 0: generates after `prompt` (str, tokenized with a BOS and special tokens, or token ids),
continuing the pipeline's context. sampler None: llama3.Sampler()'s defaults.

Returns:
  dict: text, tokens, stop_reason, n_prompt_tokens, prompt_seconds, generate_seconds.
)doc")
      .def(
          "engine",
          [](PyPipeline& self, int n_threads, int n_ctx, int kv_tokens, int max_step_tokens,
             bool prefix_cache, bool refuse_when_full, KvCacheType kv_cache_type) {
            Pipeline& pipeline = self.get();
            EngineOptions options;
            options.n_threads = n_threads;
            options.kv_cache_type = kv_cache_type;
            options.n_ctx = n_ctx;
            options.kv_tokens = kv_tokens;
            options.max_step_tokens = max_step_tokens;
            options.prefix_cache = prefix_cache;
            options.when_pool_full = refuse_when_full ? WhenPoolFull::kRefuse : WhenPoolFull::kWait;
            std::unique_ptr<Engine> engine;
            {
              py::gil_scoped_release release;
              engine = pipeline.make_engine(options);
            }
            // The engine must go before the pipeline: its deleter holds the pipeline.
            auto keep = self.state;
            return PyEngine{std::shared_ptr<Engine>(engine.release(), [keep](Engine* e) mutable {
              delete e;
              keep.reset();
            })};
          },
          py::kw_only(), py::arg("n_threads") = 0, py::arg("n_ctx") = 0, py::arg("kv_tokens") = 0,
          py::arg("max_step_tokens") = 256, py::arg("prefix_cache") = true,
          py::arg("refuse_when_full") = false, py::arg("kv_cache_type") = KvCacheType::kF16, R"doc(
Rank 0: a llama3.Engine whose steps run through every rank (many sequences at once; the arguments
are Engine's: n_threads is rank 0's, the other ranks keep the pipeline's threads and take the KV
type from rank 0). Make no other rank-0 call on the
pipeline while the engine is open; close the engine before the pipeline (closing the pipeline
first leaves it open until the engine is closed). LoRA adapters are refused.
)doc")
      .def_property_readonly(
          "n_past", [](PyPipeline& self) { return self.get().n_past(); },
          "Rank 0: tokens in the context.")
      .def_property_readonly(
          "n_ctx", [](PyPipeline& self) { return self.get().context_size(); },
          "The context window in tokens.")
      .def(
          "reset", [](PyPipeline& self) { self.get().reset(); }, "Rank 0: forgets the context.")
      .def(
          "truncate", [](PyPipeline& self, int n_tokens) { self.get().truncate(n_tokens); },
          py::arg("n_tokens"), "Rank 0: keeps the first n_tokens of the context.")
      .def_property_readonly(
          "failed", [](PyPipeline& self) { return self.get().failed(); },
          "Whether a rank stopped answering (the pipeline is then unusable: abort the job).")
      .def(
          "stats",
          [](PyPipeline& self, bool reset) {
            Pipeline& pipeline = self.get();
            distributed::PipelineStats stats;
            {
              py::gil_scoped_release release;
              stats = pipeline.stats(reset);
            }
            return stats_dict(stats);
          },
          py::kw_only(), py::arg("reset") = false, R"doc(
Rank 0: every rank's counters {'ranks': [{'layers', 'compute_seconds', 'wait_seconds',
'messages_sent', 'bytes_sent', 'resident_bytes'}, ...], 'decode_calls', 'decode_seconds'};
reset=True zeroes them after reading.
)doc")
      .def(
          "close",
          [](PyPipeline& self) {
            py::gil_scoped_release release;
            self.state.reset();
          },
          "Rank 0: releases the other ranks from serve(). Every rank: frees its layers (once no "
          "engine made from it is open).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyPipeline& self, const py::args&) {
        py::gil_scoped_release release;
        self.state.reset();
      });

  m.def("mpi_launched", &distributed::launched_by_mpi,
        "Whether this process was started by an MPI launcher (mpirun, mpiexec, srun).");
  m.def(
      "abort_mpi_job", [](int exit_code) { MpiEnvironment::abort(exit_code); },
      py::arg("exit_code") = 1,
      "Ends every rank of the job (MPI_Abort): the way out after a rank stopped answering.");
  // Drops the process's own hold on MPI at exit; pipelines still open keep it until they close.
  py::module_::import("atexit").attr("register")(py::cpp_function([] { process_mpi().reset(); }));
}

}  // namespace
#endif

void register_distributed(py::module_& m) {
#ifdef LLAMA3_HAS_MPI
  m.attr("HAS_MPI") = true;
  register_pipeline(m);
#else
  m.attr("HAS_MPI") = false;
#endif
}

}  // namespace llama3::python
