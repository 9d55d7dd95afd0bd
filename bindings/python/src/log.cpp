// llama3.set_log_handler / reset_log_handler over llama3/log.hpp: what the library reports (a
// thread count clamped to the machine's) goes to a Python callable instead of stderr.
#include <memory>
#include <string>

#include "bindings.hpp"
#include "llama3/log.hpp"

namespace llama3::python {
namespace {

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

void set_python_log_handler(py::object handler) {
  if (handler.is_none()) {
    set_log_handler({});
    return;
  }
  // The library may log on any thread and drop the handler on any thread: both take the GIL.
  std::shared_ptr<py::object> callable(new py::object(std::move(handler)), [](py::object* object) {
    py::gil_scoped_acquire gil;
    delete object;
  });
  set_log_handler([callable](LogLevel level, std::string_view message) {
    py::gil_scoped_acquire gil;
    try {
      (*callable)(level_name(level), std::string(message));
    } catch (py::error_already_set& error) {
      error.discard_as_unraisable("llama3 log handler");
    }
  });
}

}  // namespace

void register_log(py::module_& m) {
  m.def("set_log_handler", &set_python_log_handler, py::arg("handler"), R"doc(
Sends the library's messages to `handler(level, message)` instead of stderr.

Arguments:
  handler: a callable taking the level ("debug", "info", "warning" or "error") and the message;
    None silences the library. It may be called from any thread (with the GIL held); an exception
    it raises is reported as unraisable and otherwise ignored.

Example:
  >>> import llama3, logging
  >>> llama3.set_log_handler(lambda level, message: logging.warning(message))
)doc");
  m.def("reset_log_handler", &reset_log_handler, R"doc(
Restores the default: warnings and errors on stderr.
)doc");
  // A Python handler must be gone before the interpreter is.
  py::module_::import("atexit").attr("register")(m.attr("reset_log_handler"));
}

}  // namespace llama3::python
