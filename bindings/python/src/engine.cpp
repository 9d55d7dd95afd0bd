// llama3.Engine: many generations at once. submit() returns an EngineRequest, an iterator of text
// pieces fed by the engine's worker thread through a mailbox; a waiter thread per request takes
// the result when it ends. The GIL is released while an iterator waits, so several Python threads
// can each consume their own request.
#include <pybind11/stl.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "bindings.hpp"
#include "llama3/engine.hpp"

namespace llama3::python {
namespace {

// Pieces from the engine thread to the Python iterator, and the end of the request.
struct Mailbox {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::string> pieces;
  bool ended = false;
  EngineResult result;
};

class PyEngineRequest {
 public:
  PyEngineRequest(std::shared_ptr<Engine> engine, EngineRequest request,
                  py::object safety_objects = py::none(),
                  std::shared_ptr<std::atomic<const char*>> blocked_by = nullptr)
      : engine_(std::move(engine)),
        mailbox_(std::make_shared<Mailbox>()),
        safety_objects_(std::move(safety_objects)),
        blocked_by_(std::move(blocked_by)) {
    request.generate.on_piece = [mailbox = mailbox_](std::string_view piece) {
      std::lock_guard<std::mutex> lock(mailbox->mutex);
      mailbox->pieces.emplace_back(piece);
      mailbox->changed.notify_all();
      return true;
    };
    id_ = engine_->submit(std::move(request));
    waiter_ = std::thread([engine = engine_, mailbox = mailbox_, id = id_] {
      EngineResult result = engine->wait(id);
      std::lock_guard<std::mutex> lock(mailbox->mutex);
      mailbox->result = std::move(result);
      mailbox->ended = true;
      mailbox->changed.notify_all();
    });
  }

  ~PyEngineRequest() {
    engine_->cancel(id_);
    if (waiter_.joinable()) {
      py::gil_scoped_release release;
      waiter_.join();
    }
  }

  std::optional<std::string> next() {
    std::unique_lock<std::mutex> lock(mailbox_->mutex);
    {
      py::gil_scoped_release release;
      mailbox_->changed.wait(lock, [&] { return !mailbox_->pieces.empty() || mailbox_->ended; });
    }
    if (mailbox_->pieces.empty()) {
      // Ended: a safety filter's block ends the iteration with llama3.BlockedError (once).
      const GenerateResult& generation = mailbox_->result.generation;
      const bool blocked = mailbox_->result.state == RequestState::kFinished &&
                           (generation.stop_reason == StopReason::kBlocked ||
                            generation.stop_reason == StopReason::kFiltered);
      if (blocked && !blocked_raised_) {
        blocked_raised_ = true;
        const GenerateResult copy = generation;
        lock.unlock();
        raise_blocked(copy, blocked_by_ ? blocked_by_->load() : nullptr);
      }
      return std::nullopt;
    }
    std::string piece = std::move(mailbox_->pieces.front());
    mailbox_->pieces.pop_front();
    return piece;
  }

  void cancel() { engine_->cancel(id_); }

  // The result once ended, else nullptr.
  const EngineResult* result() {
    std::lock_guard<std::mutex> lock(mailbox_->mutex);
    return mailbox_->ended ? &mailbox_->result : nullptr;
  }

 private:
  std::shared_ptr<Engine> engine_;
  std::shared_ptr<Mailbox> mailbox_;
  // Keeps the guard and code scanner alive while the request may run (the destructor cancels it
  // and joins the waiter before they go).
  py::object safety_objects_;
  std::shared_ptr<std::atomic<const char*>> blocked_by_;
  bool blocked_raised_ = false;
  Engine::RequestId id_ = 0;
  std::thread waiter_;

 public:
  py::object blocked_by() const {
    const char* name = blocked_by_ ? blocked_by_->load() : nullptr;
    return name ? py::object(py::str(name)) : py::object(py::none());
  }
};

}  // namespace

std::vector<TokenId> prompt_ids(const Tokenizer& tokenizer, const py::object& prompt) {
  if (!py::isinstance<py::str>(prompt)) return prompt.cast<std::vector<TokenId>>();
  EncodeOptions encode;
  encode.add_bos = true;
  encode.parse_special = true;
  return tokenizer.encode(prompt.cast<std::string>(), encode);
}

Engine& PyEngine::get() {
  if (!engine) throw Error(ErrorCode::kInvalidArgument, "the engine is closed");
  return *engine;
}

void register_engine(py::module_& m) {
  py::class_<PyEngineRequest>(m, "EngineRequest", R"doc(
One request of an Engine: iterate it for text pieces (str) as they complete. Once it has ended,
state, stop_reason and tokens describe it. cancel() ends it early; dropping it cancels it too.
)doc")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__",
           [](PyEngineRequest& self) {
             auto piece = self.next();
             if (!piece) throw py::stop_iteration();
             return piece_to_str(*piece);
           })
      .def("cancel", &PyEngineRequest::cancel, "Ends the request at the next engine step.")
      .def_property_readonly(
          "state",
          [](PyEngineRequest& self) -> py::object {
            const EngineResult* result = self.result();
            if (!result) return py::none();
            return py::str(request_state_name(result->state));
          },
          "'finished', 'cancelled', 'refused' or 'failed' once ended; None before.")
      .def_property_readonly(
          "stop_reason",
          [](PyEngineRequest& self) -> py::object {
            const EngineResult* result = self.result();
            if (!result || result->state != RequestState::kFinished) return py::none();
            return py::str(stop_reason_name(result->generation.stop_reason));
          },
          "Why a finished request stopped (as GenerationStream.stop_reason); None otherwise.")
      .def_property_readonly(
          "tokens",
          [](PyEngineRequest& self) {
            const EngineResult* result = self.result();
            return result ? result->generation.tokens : std::vector<TokenId>{};
          },
          "The generated token ids (once ended).")
      .def_property_readonly(
          "speculative",
          [](PyEngineRequest& self) -> py::object {
            const EngineResult* result = self.result();
            if (!result) return py::none();
            return speculative_dict(result->generation.speculative);
          },
          "Once ended: {'drafted', 'accepted', 'acceptance_rate', 'target_passes'} (zeros without "
          "lookup); None before.")
      .def_property_readonly(
          "blocked_by", [](const PyEngineRequest& self) { return self.blocked_by(); },
          "The safety filter that blocked ('blocked_phrases', 'guard', 'code_scanner'), or None.");

  py::class_<PyEngine>(m, "Engine", R"doc(
Many generations at once over one model: each step runs the next token of every request (and
chunks of new prompts) through the model together, so N requests cost far less than N sessions.
Requests may be submitted and consumed from several threads.

Arguments:
  model: a llama3.Model.
  n_threads: 0 uses the model's default.   n_ctx: per request, 0 for the model's (capped at 4096).
  kv_tokens: KV memory in positions over all requests (0: four requests' context).
  max_step_tokens: rows per step (256).   prefix_cache: reuse finished prompts' KV (True).
  refuse_when_full: refuse a request the KV memory cannot take now instead of queueing it.
  kv_cache_type: KvCacheType.F16 (default), KvCacheType.F32 or KvCacheType.Q8_0.

Example:
  >>> engine = llama3.Engine(model)
  >>> requests = [engine.submit(p, max_tokens=32) for p in ["Once upon", "The dog"]]
  >>> texts = ["".join(r) for r in requests]
)doc")
      .def(py::init([](py::object model_object, int n_threads, int n_ctx, int kv_tokens,
                       int max_step_tokens, bool prefix_cache, bool refuse_when_full,
                       KvCacheType kv_cache_type) {
             auto& model = model_object.cast<PyModel&>();
             EngineOptions options;
             options.n_threads = n_threads > 0 ? n_threads : model.n_threads;
             options.n_ctx = n_ctx;
             options.kv_tokens = kv_tokens;
             options.max_step_tokens = max_step_tokens;
             options.prefix_cache = prefix_cache;
             options.kv_cache_type = kv_cache_type;
             options.when_pool_full =
                 refuse_when_full ? WhenPoolFull::kRefuse : WhenPoolFull::kWait;
             return PyEngine{std::make_shared<Engine>(model.get(), options)};
           }),
           py::arg("model"), py::kw_only(), py::arg("n_threads") = 0, py::arg("n_ctx") = 0,
           py::arg("kv_tokens") = 0, py::arg("max_step_tokens") = 256,
           py::arg("prefix_cache") = true, py::arg("refuse_when_full") = false,
           py::arg("kv_cache_type") = KvCacheType::kF16)
      .def(
          "submit",
          [](PyEngine& self, py::object prompt, py::object sampler, int max_tokens,
             std::vector<std::string> stop, const py::object& draft_model, int lookup,
             int draft_max, const py::object& adapters, py::object guard, bool guard_prompt,
             bool guard_answer, py::object code_scanner, py::object blocked_phrases) {
            Engine& engine = self.get();
            EngineRequest request;
            request.prompt = prompt_ids(engine.model().tokenizer(), prompt);
            if (!sampler.is_none()) request.sampling = sampler.cast<Sampler&>().params();
            request.generate.max_tokens = max_tokens;
            request.generate.stop_strings = std::move(stop);
            set_draft_model(draft_model, request.generate.speculative);
            request.generate.speculative.lookup_ngram = lookup;
            request.generate.speculative.draft_max = draft_max;
            request.adapters = active_adapters(adapters);
            auto blocked_by = std::make_shared<std::atomic<const char*>>(nullptr);
            if (!guard.is_none() || !code_scanner.is_none() || !blocked_phrases.is_none()) {
              add_safety_filters(guard, guard_prompt, guard_answer, code_scanner, blocked_phrases,
                                 engine.model(), request.prompt, request.generate, blocked_by);
            }
            return std::make_unique<PyEngineRequest>(
                self.engine, std::move(request), py::make_tuple(guard, code_scanner), blocked_by);
          },
          py::arg("prompt"), py::kw_only(), py::arg("sampler") = py::none(),
          py::arg("max_tokens") = 256, py::arg("stop") = std::vector<std::string>{},
          py::arg("draft_model") = py::none(), py::arg("lookup") = 0, py::arg("draft_max") = 8,
          py::arg("adapters") = py::list(), py::arg("guard") = py::none(),
          py::arg("guard_prompt") = true, py::arg("guard_answer") = true,
          py::arg("code_scanner") = py::none(), py::arg("blocked_phrases") = py::none(), R"doc(
Queues a generation and returns its EngineRequest (an iterator of str).

Arguments:
  prompt: text (encoded with BOS, special-token text parsed) or a list of ids.
  sampler: a llama3.Sampler whose settings (not history) the request samples with (default:
    Sampler()).
  max_tokens: at most this many tokens.   stop: strings that end the generation.
  draft_model: speculative decoding with this llama3.Model (same vocabulary, smaller) drafting
    for the request (requests with the same draft model draft together, on the engine's
    threads); or
  lookup: speculative decoding by prompt lookup with n-grams of up to this many tokens (1..16;
    0: off). Either proposes up to draft_max (1..32) tokens per step; greedy output is unchanged,
    sampling keeps the model's distribution.
  adapters: LoRA adapters for this request, as for Session.set_adapters (requests with different
    adapters share the engine's steps).
  guard, guard_prompt, guard_answer, code_scanner, blocked_phrases: the safety filters, as for
    Session.generate; a block raises llama3.BlockedError when the iteration ends.
)doc")
      .def(
          "close", [](PyEngine& self) { self.engine.reset(); },
          "Drops this handle's reference (running requests keep the engine alive).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyEngine& self, py::args) { self.engine.reset(); });
}

}  // namespace llama3::python
