// llama3.Session: one conversation (KV cache, position, logits). decode() hands the logits back as
// a NumPy view of the session's own buffer, without a copy.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "llama3/error.hpp"

namespace llama3::python {

Session& PySession::get() {
  if (!session) throw Error(ErrorCode::kInvalidArgument, "the session is closed");
  if (busy) {
    throw Error(ErrorCode::kInvalidArgument,
                "the session is generating: finish or close the generate() iterator first");
  }
  return *session;
}

// A read-only float32 view of the session's logits; `owner` (the Python session) stays alive as
// long as the array does.
py::array logits_view(std::span<const float> logits, py::handle owner) {
  if (logits.empty()) return py::array_t<float>(0);
  py::array_t<float> view({static_cast<py::ssize_t>(logits.size())}, {sizeof(float)}, logits.data(),
                          owner);
  py::detail::array_proxy(view.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return view;
}

// [n_rows, n_vocab] rows of a session's buffer, read-only, as logits_view.
py::array logits_rows_view(std::span<const float> logits, std::size_t n_rows, py::handle owner) {
  const auto n_vocab = n_rows == 0 ? 0 : logits.size() / n_rows;
  py::array_t<float> view(
      {static_cast<py::ssize_t>(n_rows), static_cast<py::ssize_t>(n_vocab)},
      {static_cast<py::ssize_t>(n_vocab * sizeof(float)), static_cast<py::ssize_t>(sizeof(float))},
      logits.data(), owner);
  py::detail::array_proxy(view.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return view;
}

namespace {

void close_session(PySession& self) {
  if (self.busy) {
    throw Error(ErrorCode::kInvalidArgument,
                "the session is generating: finish or close the generate() iterator first");
  }
  self.session.reset();
}

}  // namespace

void register_session(py::module_& m) {
  py::enum_<KvCacheType>(m, "KvCacheType")
      .value("F16", KvCacheType::kF16)
      .value("F32", KvCacheType::kF32)
      .value("Q8_0", KvCacheType::kQ8_0)
      .value("BF16", KvCacheType::kBf16);

  py::class_<PySession>(m, "Session", R"doc(
One conversation with a model: its KV cache, position and latest logits. Use it from one thread at
a time; many sessions may share one model. Make one with Model.session(). Usable as a context
manager (close() frees the KV cache).
)doc")
      .def(
          "decode",
          [](py::object self_object, const std::vector<TokenId>& ids) {
            auto& self = self_object.cast<PySession&>();
            Session& session = self.get();
            std::span<const float> logits;
            {
              py::gil_scoped_release release;
              logits = session.decode(ids);
            }
            return logits_view(logits, self_object);
          },
          py::arg("ids"), R"doc(
Runs token ids after those already in the context and returns the logits of the last one.

Returns:
  numpy.ndarray float32 [n_vocab], read-only, a view of the session's buffer (no copy). It keeps the
  session object alive, but its contents are only valid until the next decode(), generate(),
  reset(), load_state() or close() of this session, which overwrite (or free) that buffer; use
  numpy.array(logits) to keep a copy.

Raises:
  ContextFullError when the ids do not fit (the session is unchanged); InvalidArgumentError for an
  id outside the vocabulary.
)doc")
      .def(
          "decode_all_logits",
          [](py::object self_object, const std::vector<TokenId>& ids) {
            auto& self = self_object.cast<PySession&>();
            Session& session = self.get();
            std::span<const float> logits;
            {
              py::gil_scoped_release release;
              logits = session.decode_all_logits(ids);
            }
            return logits_rows_view(logits, ids.size(), self_object);
          },
          py::arg("ids"), R"doc(
As decode(), and returns the logits of every position of the batch: row t is what follows ids[t]
(for scoring a text, e.g. the log-likelihood of a continuation, in one call).

Returns:
  numpy.ndarray float32 [len(ids), n_vocab], read-only, a view of the session's buffer with the same
  validity rules as decode()'s.
)doc")
      .def_property_readonly(
          "logits",
          [](py::object self_object) {
            auto& self = self_object.cast<PySession&>();
            return logits_view(self.get().logits(), self_object);
          },
          "The logits after the last decoded token (same view rules as decode()); empty before "
          "the first decode.")
      .def_property_readonly(
          "n_past", [](PySession& self) { return self.get().n_past(); }, "Tokens in the context.")
      .def_property_readonly(
          "n_ctx", [](PySession& self) { return self.get().context_size(); },
          "The context window in tokens.")
      .def(
          "reset", [](PySession& self) { self.get().reset(); }, "Forgets the context.")
      .def(
          "shift_context",
          [](PySession& self, int n_keep, int n_discard) {
            self.get().shift_context(n_keep, n_discard);
          },
          py::arg("n_keep"), py::arg("n_discard"), R"doc(
Drops positions [n_keep, n_keep + n_discard) and moves the later ones down, re-rotating their keys,
so that the context has room again; the last logits stay. InvalidArgumentError when they do not
fit n_past (nothing changes).
)doc")
      .def(
          "set_adapters",
          [](PySession& self, const py::object& adapters) {
            self.get().set_adapters(active_adapters(adapters));
          },
          py::arg("adapters"), R"doc(
Replaces the LoRA adapters used from the next decode on.

Arguments:
  adapters: a list of llama3.LoraAdapter, or of (LoraAdapter, scale) tuples (scale 1 when not
    given). An empty list, or every scale 0, is the base model bit for bit. The context already
    decoded keeps what the earlier adapters computed: reset() or truncate() to recompute it.

Raises:
  InvalidArgumentError for an adapter loaded for another model shape or a scale that is not finite.
)doc")
      .def(
          "truncate", [](PySession& self, int n_tokens) { self.get().truncate(n_tokens); },
          py::arg("n_tokens"),
          "Keeps the first n_tokens positions and drops the rest (InvalidArgumentError outside "
          "0..n_past). Dropping any position clears logits: decode before sampling again.")
      .def_property_readonly(
          "tokens",
          [](PySession& self) {
            const auto ids = self.get().tokens();
            return std::vector<llama3::TokenId>(ids.begin(), ids.end());
          },
          "The token ids in the context, as a list (empty when a loaded state did not record "
          "them). generate() keeps the longest prefix a BOS-led prompt shares with them.")
      .def(
          "save_state",
          [](PySession& self) {
            const auto state = self.get().save_state();
            return py::bytes(reinterpret_cast<const char*>(state.data()), state.size());
          },
          "The session's state (context, position, logits) as versioned, checksummed bytes.")
      .def(
          "load_state",
          [](PySession& self, const py::bytes& state) {
            const std::string_view bytes = state;
            self.get().load_state(std::span<const std::byte>(
                reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
          },
          py::arg("state"),
          "Restores state saved from a session of the same model (BadFormatError for damaged "
          "bytes, InvalidArgumentError for another model's; the session is then unchanged).")
      .def("__repr__",
           [](const PySession& self) {
             if (!self.session) return std::string("<llama3.Session (closed)>");
             return "<llama3.Session n_past=" + std::to_string(self.session->n_past()) +
                    " n_ctx=" + std::to_string(self.session->context_size()) + ">";
           })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PySession& self, py::args) { close_session(self); })
      .def("close", &close_session, "Frees the KV cache (not while a generate() iterator runs).");

  auto model_class = py::reinterpret_borrow<py::object>(m.attr("Model"));
  model_class.attr("session") = py::cpp_function(
      [](const PyModel& model, int n_ctx, std::optional<int> n_threads, KvCacheType kv_cache_type) {
        SessionOptions options;
        options.n_ctx = n_ctx;
        options.n_threads = n_threads.value_or(model.n_threads);
        options.kv_cache_type = kv_cache_type;
        if (options.n_threads < 0)
          throw Error(ErrorCode::kInvalidArgument, "n_threads must be >= 0");
        if (n_ctx < 0) throw Error(ErrorCode::kInvalidArgument, "n_ctx must be >= 0");
        const int trained = model.get().config().context_length;
        if (trained > 0 && n_ctx > trained) {
          // Allowed (the KV cache is sized as asked), but positions past the trained context give
          // text of falling quality: say so, as llama.cpp does.
          const std::string message = "n_ctx=" + std::to_string(n_ctx) +
                                      " is beyond the context the model was trained for (" +
                                      std::to_string(trained) + " tokens)";
          if (PyErr_WarnEx(PyExc_RuntimeWarning, message.c_str(), 2) != 0) {
            throw py::error_already_set();
          }
        }
        PySession session;
        session.session.emplace(model.get(), options);
        session.grammar_vocabulary = model.grammar_vocabulary;
        return session;
      },
      py::name("session"), py::is_method(model_class), py::kw_only(), py::arg("n_ctx") = 0,
      py::arg("n_threads") = py::none(), py::arg("kv_cache_type") = KvCacheType::kF16, R"doc(
A new session (KV cache) on this model.

Arguments:
  n_ctx: context window in tokens (0: the model's, capped at 4096). Beyond the context the model
    was trained for (Model.context_length) it is allowed but warns (RuntimeWarning): text past
    that point degrades.
  n_threads: compute threads (None: the model's n_threads; 0: one per hardware thread).
  kv_cache_type: KvCacheType.F16 (default), KvCacheType.F32, KvCacheType.Q8_0 (8-bit blocks:
    about half F16's memory and reads; logits within 5e-2 of their scale of an F32 cache's) or
    KvCacheType.BF16 (F16's memory; on CPUs with AVX512-BF16 attention multiplies in bf16, so
    prompts at depth run about 1.7x faster than with F16; logits within 5e-2 of their scale of an
    F32 cache's).

Returns:
  Session
)doc");
}

}  // namespace llama3::python
