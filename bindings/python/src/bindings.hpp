// The pybind11 module `llama3._llama3` over the public C++ API. One file per bound class, each with
// a register_X(module) function (CTranslate2's layout); this header declares them and the
// Python-side holder types they share.
#pragma once

#include <pybind11/pybind11.h>

#include <optional>
#include <string>

#include "llama3/error.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "llama3/tokenizer.hpp"

namespace llama3::python {

namespace py = pybind11;

// A loaded model; close() (or leaving a `with` block) drops this handle's reference to the weights
// (sessions and tokenizers made from it keep them alive).
struct PyModel {
  std::optional<Model> model;
  int n_threads = 0;  // default for sessions made from this model
  std::string path;   // as given to load, for repr and completion results

  const Model& get() const;
};

// A tokenizer plus the chat template of the model it came from (for chat-style detection).
struct PyTokenizer {
  Tokenizer tokenizer;
  std::string chat_template;
};

struct PySession {
  std::optional<Session> session;
  bool busy = false;  // a generation stream is running on it

  Session& get();
};

void register_errors(py::module_& m);
void register_model(py::module_& m);
void register_tokenizer(py::module_& m);
void register_sampler(py::module_& m);
void register_session(py::module_& m);
void register_generation(py::module_& m);
void register_convert(py::module_& m);
void register_engine(py::module_& m);

// A generated piece as str (invalid UTF-8, which a piece never holds, becomes U+FFFD).
py::str piece_to_str(const std::string& piece);

// Raises the llama3.Error subclass for `code` (defined in llama3/_errors.py).
[[noreturn]] void raise_error(ErrorCode code, const std::string& message);

}  // namespace llama3::python
