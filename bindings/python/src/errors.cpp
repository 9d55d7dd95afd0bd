// llama3::Error -> the llama3.Error subclass of its code; std::bad_alloc -> MemoryError (pybind11's
// default). The classes live in Python (llama3/_errors.py) so they can also derive from ValueError,
// OSError and MemoryError where that is what a Python user expects.
#include "bindings.hpp"
#include "llama3/error.hpp"

namespace llama3::python {

void raise_error(ErrorCode code, const std::string& message) {
  py::object classes = py::module_::import("llama3._errors").attr("ERROR_CLASSES");
  py::object cls = classes.attr("get")(static_cast<int>(code));
  if (cls.is_none()) cls = py::module_::import("llama3._errors").attr("Error");
  PyErr_SetObject(cls.ptr(), py::make_tuple(message, static_cast<int>(code)).ptr());
  throw py::error_already_set();
}

void register_errors(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const Error& e) {
      try {
        raise_error(e.code(), e.what());
      } catch (py::error_already_set& raised) {
        raised.restore();
      }
    }
  });
  m.def(
      "error_code_name", [](int code) { return error_code_name(static_cast<ErrorCode>(code)); },
      py::arg("code"), "Short stable name of an error code (\"bad_format\").");
}

}  // namespace llama3::python
