// Session.generate(): Session::generate runs on a worker thread, handing each piece to the Python
// generator through a one-slot mailbox. The GIL is released while the worker computes; the worker
// waits for the consumer after each piece, so nothing runs ahead of the caller, and closing the
// iterator stops the generation at the next piece.
#include <pybind11/stl.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "bindings.hpp"
#include "llama3/error.hpp"

namespace llama3::python {
namespace {

class GenerationStream {
 public:
  GenerationStream(py::object session_object, std::vector<TokenId> prompt,
                   py::object sampler_object, GenerateOptions options,
                   py::object draft_object = py::none(), py::object safety_objects = py::none(),
                   std::shared_ptr<std::atomic<const char*>> blocked_by = nullptr)
      : session_object_(std::move(session_object)),
        sampler_object_(std::move(sampler_object)),
        draft_object_(std::move(draft_object)),
        safety_objects_(std::move(safety_objects)),
        blocked_by_(std::move(blocked_by)),
        prompt_(std::move(prompt)),
        options_(std::move(options)) {}

  ~GenerationStream() {
    try {
      close();
    } catch (...) {
    }
  }

  std::optional<std::string> next() {
    start();
    std::unique_lock<std::mutex> lock(mutex_);
    {
      py::gil_scoped_release release;
      ready_.wait(lock, [&] { return piece_.has_value() || done_; });
    }
    if (piece_) {
      std::string piece = std::move(*piece_);
      piece_.reset();
      consumed_.notify_one();
      return piece;
    }
    lock.unlock();
    finish();
    raise_if_blocked();
    return std::nullopt;
  }

  void close() {
    if (!worker_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
      piece_.reset();
    }
    consumed_.notify_one();
    finish();
  }

  const GenerateResult& result() const { return result_; }
  // The safety filter that blocked ("blocked_phrases", "guard", "code_scanner"), or None.
  py::object blocked_by() const {
    const char* name = blocked_by_ ? blocked_by_->load() : nullptr;
    return name ? py::object(py::str(name)) : py::object(py::none());
  }
  bool finished() const { return finished_; }
  bool logprobs_requested() const { return options_.logprobs; }
  bool speculative_requested() const { return options_.speculative.enabled(); }

 private:
  void start() {
    if (started_) return;
    started_ = true;
    auto& session_holder = session_object_.cast<PySession&>();
    Session& session = session_holder.get();
    session_holder.busy = true;
    Sampler& sampler = sampler_object_.cast<Sampler&>();
    options_.on_piece = [this](std::string_view piece) {
      std::unique_lock<std::mutex> lock(mutex_);
      if (cancelled_) return false;
      piece_ = std::string(piece);
      ready_.notify_one();
      consumed_.wait(lock, [&] { return !piece_.has_value() || cancelled_; });
      return !cancelled_;
    };
    worker_ = std::thread([this, &session, &sampler] {
      try {
        result_ = session.generate(prompt_, sampler, options_);
      } catch (...) {
        error_ = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
      ready_.notify_one();
    });
  }

  void finish() {
    if (worker_.joinable()) {
      py::gil_scoped_release release;
      worker_.join();
    }
    if (started_) session_object_.cast<PySession&>().busy = false;
    finished_ = true;
    if (error_) {
      auto error = error_;
      error_ = nullptr;
      std::rethrow_exception(error);
    }
  }

  // A safety filter's block ends the iteration with llama3.BlockedError (once; close() does not
  // raise it).
  void raise_if_blocked() {
    const StopReason reason = result_.stop_reason;
    if (blocked_raised_ || (reason != StopReason::kBlocked && reason != StopReason::kFiltered)) {
      return;
    }
    blocked_raised_ = true;
    raise_blocked(result_, blocked_by_ ? blocked_by_->load() : nullptr);
  }

  py::object session_object_;  // keeps the session and sampler alive while the worker runs
  py::object sampler_object_;
  py::object draft_object_;    // keeps a draft model alive while the worker runs
  py::object safety_objects_;  // keeps the guard and code scanner alive while the worker runs
  std::shared_ptr<std::atomic<const char*>> blocked_by_;
  std::vector<TokenId> prompt_;
  GenerateOptions options_;
  GenerateResult result_;
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable ready_, consumed_;
  std::optional<std::string> piece_;
  bool started_ = false, done_ = false, cancelled_ = false, finished_ = false;
  bool blocked_raised_ = false;
  std::exception_ptr error_;
};

// A list (or other sequence) of int token ids; TypeError naming what was given otherwise.
std::vector<TokenId> token_ids(const py::object& prompt) {
  const auto fail = [&] {
    return py::type_error("prompt must be str or a list of int token ids, not " +
                          type_name(prompt));
  };
  if (!py::isinstance<py::sequence>(prompt) || py::isinstance<py::bytes>(prompt)) throw fail();
  std::vector<TokenId> ids;
  for (const auto& item : prompt.cast<py::sequence>()) {
    if (!py::isinstance<py::int_>(item) || py::isinstance<py::bool_>(item)) throw fail();
    ids.push_back(item.cast<TokenId>());
  }
  return ids;
}

// None, one string or a list of strings.
std::vector<std::string> stop_strings(const py::object& stop) {
  if (stop.is_none()) return {};
  if (py::isinstance<py::str>(stop)) return {stop.cast<std::string>()};
  const auto fail = [&] {
    return py::type_error("stop must be a str or a list of str, not " + type_name(stop));
  };
  if (!py::isinstance<py::sequence>(stop)) throw fail();
  std::vector<std::string> strings;
  for (const auto& item : stop.cast<py::sequence>()) {
    if (!py::isinstance<py::str>(item)) throw fail();
    strings.push_back(item.cast<std::string>());
  }
  return strings;
}

// The context an answer to `prompt` follows: a BOS-led prompt is the whole context, any other is
// appended to the session's (Session::generate).
std::vector<TokenId> answer_context(const Session& session, const std::vector<TokenId>& prompt) {
  const Model& model = session.model();
  const bool whole =
      model.has_tokenizer() && !prompt.empty() && prompt.front() == model.tokenizer().bos_id();
  std::vector<TokenId> context;
  if (!whole) context.assign(session.tokens().begin(), session.tokens().end());
  context.insert(context.end(), prompt.begin(), prompt.end());
  return context;
}

}  // namespace

std::string type_name(const py::handle& value) {
  return py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>();
}

void set_draft_model(const py::object& draft_model, SpeculativeOptions& options) {
  if (draft_model.is_none()) return;
  if (!py::isinstance<PyModel>(draft_model)) {
    throw py::type_error("draft_model must be a llama3.Model or None, not " +
                         type_name(draft_model));
  }
  const PyModel& draft = draft_model.cast<const PyModel&>();
  options.draft_model = &draft.get();
  options.draft_threads = draft.n_threads;
}

py::str piece_to_str(const std::string& piece) {
  PyObject* text =
      PyUnicode_DecodeUTF8(piece.data(), static_cast<Py_ssize_t>(piece.size()), "replace");
  if (!text) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(text);
}

py::dict speculative_dict(const SpeculativeStats& stats) {
  return py::dict(py::arg("drafted") = stats.drafted, py::arg("accepted") = stats.accepted,
                  py::arg("acceptance_rate") = stats.acceptance_rate(),
                  py::arg("target_passes") = stats.target_passes);
}

void register_generation(py::module_& m) {
  py::class_<GenerationStream>(m, "GenerationStream", R"doc(
The iterator Session.generate() returns: yields text pieces (str) as they complete. After it is
exhausted, stop_reason and tokens describe the generation. close() (or dropping it) stops early.
)doc")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__",
           [](GenerationStream& self) {
             auto piece = self.next();
             if (!piece) throw py::stop_iteration();
             return piece_to_str(*piece);
           })
      .def("close", &GenerationStream::close, "Stops the generation (at the next piece).")
      .def_property_readonly(
          "stop_reason",
          [](const GenerationStream& self) -> py::object {
            if (!self.finished()) return py::none();
            return py::str(stop_reason_name(self.result().stop_reason));
          },
          "'end_of_generation', 'max_tokens', 'stop_string', 'callback', 'context_full', "
          "'blocked' or 'filtered' once finished; None before.")
      .def_property_readonly(
          "blocked_by", [](const GenerationStream& self) { return self.blocked_by(); },
          "The safety filter that blocked ('blocked_phrases', 'guard', 'code_scanner'), or None.")
      .def_property_readonly(
          "filter_reason",
          [](const GenerationStream& self) -> py::object {
            if (!self.finished() || self.result().filter_reason.empty()) return py::none();
            return piece_to_str(self.result().filter_reason);
          },
          "Why a safety filter blocked (once finished), or None.")
      .def_property_readonly(
          "notes",
          [](const GenerationStream& self) {
            py::list notes;
            for (const auto& note : self.result().notes) notes.append(piece_to_str(note));
            return notes;
          },
          "The safety filters' notes once finished: the code scanner's warnings, the Guard's "
          "verdict on the answer.")
      .def_property_readonly(
          "tokens", [](const GenerationStream& self) { return self.result().tokens; },
          "The generated token ids (once finished).")
      .def_property_readonly(
          "text",
          [](const GenerationStream& self) -> py::object {
            if (!self.finished()) return py::none();
            const auto& text = self.result().text;
            PyObject* decoded =
                PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
            if (!decoded) throw py::error_already_set();
            return py::reinterpret_steal<py::str>(decoded);
          },
          "The whole generated text, cut before a stop string (once finished; None before).")
      .def_property_readonly(
          "logprobs",
          [](const GenerationStream& self) -> py::object {
            if (!self.finished() || !self.logprobs_requested()) return py::none();
            py::list entries;
            for (const GeneratedTokenLogprobs& generated : self.result().logprobs) {
              py::list top;
              for (const TokenLogprob& alternative : generated.top) {
                top.append(py::dict(py::arg("token") = alternative.token,
                                    py::arg("logprob") = alternative.logprob));
              }
              entries.append(py::dict(py::arg("token") = generated.token,
                                      py::arg("logprob") = generated.logprob,
                                      py::arg("top_logprobs") = top));
            }
            return entries;
          },
          "With logprobs=True, once finished: per generated token {'token', 'logprob', "
          "'top_logprobs': [{'token', 'logprob'}, ...]} (natural logs of the model's softmax); "
          "None otherwise.")
      .def_property_readonly(
          "speculative",
          [](const GenerationStream& self) -> py::object {
            if (!self.finished() || !self.speculative_requested()) return py::none();
            return speculative_dict(self.result().speculative);
          },
          "With draft_model or lookup, once finished: {'drafted', 'accepted', "
          "'acceptance_rate', 'target_passes'}; None otherwise.")
      .def_property_readonly(
          "n_prompt_tokens",
          [](const GenerationStream& self) { return self.result().n_prompt_tokens; },
          "Prompt tokens fed (once finished).")
      .def_property_readonly(
          "prompt_seconds",
          [](const GenerationStream& self) { return self.result().prompt_seconds; },
          "Seconds spent on the prompt (once finished).")
      .def_property_readonly(
          "generate_seconds",
          [](const GenerationStream& self) { return self.result().generate_seconds; },
          "Seconds spent producing tokens (once finished).")
      .def("__repr__", [](const GenerationStream& self) {
        if (!self.finished()) return std::string("<llama3.GenerationStream (running)>");
        return std::string("<llama3.GenerationStream finished: ") +
               stop_reason_name(self.result().stop_reason) + ", " +
               std::to_string(self.result().tokens.size()) + " tokens>";
      });

  auto session_class = py::reinterpret_borrow<py::object>(m.attr("Session"));
  session_class.attr("generate") = py::cpp_function(
      [](py::object self_object, py::object prompt, py::object sampler, int max_tokens,
         py::object stop, py::object grammar, py::object json_schema, bool logprobs,
         int top_logprobs, py::object draft_model, int draft_max, int lookup, py::object guard,
         bool guard_prompt, bool guard_answer, py::object code_scanner, py::object blocked_phrases,
         bool context_shift, int keep) {
        auto& self = self_object.cast<PySession&>();
        Session& session = self.get();
        std::vector<TokenId> ids;
        if (py::isinstance<py::str>(prompt)) {
          EncodeOptions encode;
          encode.add_bos = true;
          encode.parse_special = true;
          ids = session.model().tokenizer().encode(prompt.cast<std::string>(), encode);
        } else {
          ids = token_ids(prompt);
        }
        if (sampler.is_none()) {
          sampler = py::module_::import("llama3").attr("Sampler")();
        } else if (!py::isinstance<Sampler>(sampler)) {
          throw py::type_error("sampler must be a llama3.Sampler or None, not " +
                               type_name(sampler));
        }
        if (max_tokens < 0) throw Error(ErrorCode::kInvalidArgument, "max_tokens must be >= 0");
        if (auto constraint = grammar_argument(grammar, json_schema, session.model().tokenizer(),
                                               *self.grammar_vocabulary)) {
          // The sampler's settings with the grammar: a new sampler for this generation.
          SamplerParams params = sampler.cast<Sampler&>().params();
          params.grammar = std::move(*constraint);
          sampler = py::cast(Sampler(std::move(params)));
        }
        GenerateOptions options;
        options.max_tokens = max_tokens;
        options.stop_strings = stop_strings(stop);
        options.logprobs = logprobs;
        options.top_logprobs = top_logprobs;
        if (top_logprobs < 0 || top_logprobs > GenerateOptions::kMaxTopLogprobs) {
          throw Error(
              ErrorCode::kInvalidArgument,
              "top_logprobs must be in 0.." + std::to_string(GenerateOptions::kMaxTopLogprobs));
        }
        set_draft_model(draft_model, options.speculative);
        options.speculative.draft_max = draft_max;
        options.speculative.lookup_ngram = lookup;
        options.context_shift = context_shift;
        options.n_keep = keep;
        auto blocked_by = std::make_shared<std::atomic<const char*>>(nullptr);
        if (!guard.is_none() || !code_scanner.is_none() || !blocked_phrases.is_none()) {
          add_safety_filters(guard, guard_prompt, guard_answer, code_scanner, blocked_phrases,
                             session.model(), answer_context(session, ids), options, blocked_by);
        }
        return std::make_unique<GenerationStream>(self_object, std::move(ids), sampler,
                                                  std::move(options), draft_model,
                                                  py::make_tuple(guard, code_scanner), blocked_by);
      },
      py::name("generate"), py::is_method(session_class), py::arg("prompt"), py::kw_only(),
      py::arg("sampler") = py::none(), py::arg("max_tokens") = 256, py::arg("stop") = py::none(),
      py::arg("grammar") = py::none(), py::arg("json_schema") = py::none(),
      py::arg("logprobs") = false, py::arg("top_logprobs") = 0, py::arg("draft_model") = py::none(),
      py::arg("draft_max") = 8, py::arg("lookup") = 0, py::arg("guard") = py::none(),
      py::arg("guard_prompt") = true, py::arg("guard_answer") = true,
      py::arg("code_scanner") = py::none(), py::arg("blocked_phrases") = py::none(),
      py::arg("context_shift") = false, py::arg("keep") = 0,
      R"doc(
Feeds the prompt, then samples until an end-of-generation token, max_tokens, a stop string or a
full context, yielding text pieces as they complete. The GIL is released while tokens are computed.

Arguments:
  prompt: text (encoded with BOS, special-token text parsed, as `llama3 generate` does) or a list
    of ids (an empty list continues from the current logits).
  sampler: a llama3.Sampler (default: Sampler()); it records the prompt and generated tokens.
  max_tokens: at most this many tokens.
  stop: a string or a list of strings that end the generation; the text is cut before them.
  grammar: GBNF text or a llama3.Grammar the output must follow.
  json_schema: a JSON Schema (str, dict or bool; '{}' is any JSON) the output must be valid under.
    With either, generation samples with a copy of `sampler`'s settings plus the grammar.
  logprobs: record each generated token's logprob (see GenerationStream.logprobs).
  top_logprobs: with logprobs, also the this many most likely alternatives (0..20).
  draft_model: speculative decoding with this smaller llama3.Model of the same vocabulary; or
  lookup: speculative decoding by prompt lookup with n-grams of up to this many tokens (1..16).
    Greedy output is unchanged; sampled output keeps the model's distribution.
  draft_max: tokens proposed per step (1..32). See GenerationStream.speculative.
  guard: a llama3.Guard judging the prompt (guard_prompt, default True) before any decode and the
    finished answer (guard_answer, default True); an unsafe or malformed verdict blocks.
  code_scanner: a llama3.CodeScanner scanning fenced code in the answer as each line completes; a
    finding of error severity stops the answer (that piece is not yielded).
  blocked_phrases: a str or a list of str that may appear in neither the prompt nor the answer
    (ASCII case-insensitive); the piece completing one is not yielded.
    A block raises llama3.BlockedError (reason, filter, stop_reason) when the iteration ends;
    the pieces yielded before a block of the answer were allowed through.
  context_shift: when the context is full, drop the older half of what follows the first `keep`
    tokens and go on (default False: stop with stop_reason 'context_full').
  keep: with context_shift, tokens at the start of the context never dropped (a BOS stays anyway).

Raises:
  TypeError when prompt is neither str nor a list of int, or stop neither str nor a list of str.
  InvalidArgumentError for a bad grammar or schema (naming the line, column or keyword), an empty
    blocked phrase, or a guard with guard_prompt and guard_answer both False.
  BlockedError when a safety filter blocked (raised by the iteration).

Returns:
  GenerationStream, an iterator of str.

Example:
  >>> text = "".join(session.generate("Once upon a time", max_tokens=32,
  ...                                 sampler=llama3.Sampler(seed=1)))
)doc");
}

}  // namespace llama3::python
