// Session.generate(): Session::generate runs on a worker thread, handing each piece to the Python
// generator through a one-slot mailbox. The GIL is released while the worker computes; the worker
// waits for the consumer after each piece, so nothing runs ahead of the caller, and closing the
// iterator stops the generation at the next piece.
#include <pybind11/stl.h>

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
                   py::object draft_object = py::none())
      : session_object_(std::move(session_object)),
        sampler_object_(std::move(sampler_object)),
        draft_object_(std::move(draft_object)),
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

  py::object session_object_;  // keeps the session and sampler alive while the worker runs
  py::object sampler_object_;
  py::object draft_object_;  // keeps a draft model alive while the worker runs
  std::vector<TokenId> prompt_;
  GenerateOptions options_;
  GenerateResult result_;
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable ready_, consumed_;
  std::optional<std::string> piece_;
  bool started_ = false, done_ = false, cancelled_ = false, finished_ = false;
  std::exception_ptr error_;
};

std::string type_name(const py::handle& value) {
  return py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>();
}

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

}  // namespace

py::str piece_to_str(const std::string& piece) {
  PyObject* text =
      PyUnicode_DecodeUTF8(piece.data(), static_cast<Py_ssize_t>(piece.size()), "replace");
  if (!text) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(text);
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
          "'end_of_generation', 'max_tokens', 'stop_string', 'callback' or 'context_full' once "
          "finished; None before.")
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
            const SpeculativeStats& stats = self.result().speculative;
            return py::dict(py::arg("drafted") = stats.drafted,
                            py::arg("accepted") = stats.accepted,
                            py::arg("acceptance_rate") = stats.acceptance_rate(),
                            py::arg("target_passes") = stats.target_passes);
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
         int top_logprobs, py::object draft_model, int draft_max, int lookup) {
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
        if (!draft_model.is_none()) {
          if (!py::isinstance<PyModel>(draft_model)) {
            throw py::type_error("draft_model must be a llama3.Model or None, not " +
                                 type_name(draft_model));
          }
          const PyModel& draft = draft_model.cast<const PyModel&>();
          options.speculative.draft_model = &draft.get();
          options.speculative.draft_threads = draft.n_threads;
        }
        options.speculative.draft_max = draft_max;
        options.speculative.lookup_ngram = lookup;
        return std::make_unique<GenerationStream>(self_object, std::move(ids), sampler,
                                                  std::move(options), draft_model);
      },
      py::name("generate"), py::is_method(session_class), py::arg("prompt"), py::kw_only(),
      py::arg("sampler") = py::none(), py::arg("max_tokens") = 256, py::arg("stop") = py::none(),
      py::arg("grammar") = py::none(), py::arg("json_schema") = py::none(),
      py::arg("logprobs") = false, py::arg("top_logprobs") = 0, py::arg("draft_model") = py::none(),
      py::arg("draft_max") = 8, py::arg("lookup") = 0,
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

Raises:
  TypeError when prompt is neither str nor a list of int, or stop neither str nor a list of str.
  InvalidArgumentError for a bad grammar or schema (naming the line, column or keyword).

Returns:
  GenerationStream, an iterator of str.

Example:
  >>> text = "".join(session.generate("Once upon a time", max_tokens=32,
  ...                                 sampler=llama3.Sampler(seed=1)))
)doc");
}

}  // namespace llama3::python
