// Entry point of llama3._llama3: registers every bound class. The package `llama3`
// (llama3/__init__.py) re-exports them with the exception classes.
#include "bindings.hpp"
#include "llama3/version.hpp"

PYBIND11_MODULE(_llama3, m) {
  m.doc() = "Llama 3 on CPUs: the llama3 C++ library's Python binding (see docs/python.md).";
  m.attr("__version__") = llama3::kVersionString;
  llama3::python::register_errors(m);
  llama3::python::register_tokenizer(m);
  llama3::python::register_model(m);
  llama3::python::register_grammar(m);
  llama3::python::register_sampler(m);
  llama3::python::register_session(m);
  llama3::python::register_generation(m);
  llama3::python::register_convert(m);
  llama3::python::register_engine(m);
  llama3::python::register_safety(m);
  llama3::python::register_lora(m);
  llama3::python::register_log(m);
  llama3::python::register_distributed(m);
}
