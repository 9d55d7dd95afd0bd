// llama3.Model: a loaded GGUF model, usable as a context manager.
#include <pybind11/functional.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.hpp"
#include "llama3/error.hpp"

namespace llama3::python {

const Model& PyModel::get() const {
  if (!model) throw Error(ErrorCode::kInvalidArgument, "the model is closed");
  return *model;
}

namespace {

PyModel load(const std::filesystem::path& path, int n_threads, bool use_mmap, py::object progress) {
  if (n_threads < 0) throw Error(ErrorCode::kInvalidArgument, "n_threads must be >= 0");
  LoadOptions options;
  options.use_mmap = use_mmap;
  std::optional<py::error_already_set> callback_error;
  if (!progress.is_none()) {
    options.progress = [&progress, &callback_error](float fraction) {
      py::gil_scoped_acquire gil;
      try {
        py::object keep_going = progress(fraction);
        return keep_going.is_none() || keep_going.cast<bool>();
      } catch (py::error_already_set& error) {
        callback_error.emplace(std::move(error));
        return false;
      }
    };
  }
  PyModel result;
  result.n_threads = n_threads;
  result.path = path.string();
  try {
    py::gil_scoped_release release;
    result.model.emplace(Model::load(path, options));
  } catch (const Error&) {
    if (callback_error) throw std::move(*callback_error);
    throw;
  }
  return result;
}

}  // namespace

void register_model(py::module_& m) {
  py::class_<PyModel>(m, "Model", R"doc(
A Llama model loaded from a GGUF file: weights, configuration and tokenizer. Immutable after load
and safe to share between threads and sessions.

Arguments:
  path: the .gguf file or Hugging Face folder (str or os.PathLike).
  n_threads: threads of the sessions made from this model (0: one per hardware thread).
  use_mmap: map the file (True) or read it into memory.
  progress: called as progress(fraction) while loading; return False to cancel
    (raises llama3.CancelledError).

Example:
  >>> with llama3.Model("stories260K.gguf") as model:
  ...     session = model.session(n_ctx=256)
)doc")
      .def(py::init(&load), py::arg("path"), py::kw_only(), py::arg("n_threads") = 0,
           py::arg("use_mmap") = true, py::arg("progress") = py::none())
      .def("__enter__", [](py::object self) { return self; })
      .def(
          "__exit__", [](PyModel& self, py::args) { self.model.reset(); },
          "Closes the model (see close()).")
      .def(
          "close", [](PyModel& self) { self.model.reset(); },
          "Drops this handle's reference to the weights; sessions and tokenizers made from the "
          "model keep working.")
      .def_property_readonly("closed", [](const PyModel& self) { return !self.model; })
      .def("__repr__",
           [](const PyModel& self) {
             if (!self.model) return "<llama3.Model " + self.path + " (closed)>";
             const auto& config = self.model->config();
             return "<llama3.Model '" + config.name + "' " +
                    std::to_string(self.model->n_params()) +
                    " params, n_vocab=" + std::to_string(config.n_vocab) +
                    ", context_length=" + std::to_string(config.context_length) + ">";
           })
      .def_property_readonly(
          "path", [](const PyModel& self) { return self.path; }, "The path it was loaded from.")
      .def_property_readonly(
          "tokenizer",
          [](const PyModel& self) {
            const Model& model = self.get();
            return PyTokenizer{model.tokenizer(), model.metadata_string("tokenizer.chat_template"),
                               self.grammar_vocabulary};
          },
          "The model's tokenizer (raises InvalidArgumentError when the file has none).")
      .def_property_readonly("has_tokenizer",
                             [](const PyModel& self) { return self.get().has_tokenizer(); })
      .def_property_readonly("name", [](const PyModel& self) { return self.get().config().name; })
      .def_property_readonly("n_vocab",
                             [](const PyModel& self) { return self.get().config().n_vocab; })
      .def_property_readonly(
          "context_length", [](const PyModel& self) { return self.get().config().context_length; },
          "The context length the model was trained for.")
      .def_property_readonly("n_params", [](const PyModel& self) { return self.get().n_params(); })
      .def(
          "metadata",
          [](const PyModel& self, const std::string& key) {
            return self.get().metadata_string(key);
          },
          py::arg("key"), "A metadata value as text (\"\" when absent).");
}

}  // namespace llama3::python
