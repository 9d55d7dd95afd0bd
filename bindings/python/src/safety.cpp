// llama3.CodeScanner and llama3.Guard: the safety layer (include/llama3/safety.hpp) with results
// as plain dicts, the shapes the C ABI writes as JSON.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <mutex>

#include "bindings.hpp"
#include "llama3/safety.hpp"

namespace llama3::python {
namespace {

py::dict finding_dict(const CodeFinding& finding) {
  py::dict out;
  out["rule_id"] = finding.rule_id;
  out["cwe_id"] = finding.cwe_id;
  out["severity"] = severity_name(finding.severity);
  out["language"] = finding.language;
  out["line"] = finding.line;
  out["column"] = finding.column;
  out["description"] = finding.description;
  out["matched_text"] = piece_to_str(finding.matched_text);
  return out;
}

py::dict scan_dict(const CodeScanResult& result) {
  py::list findings;
  for (const CodeFinding& finding : result.findings) findings.append(finding_dict(finding));
  py::dict out;
  out["treatment"] = treatment_name(result.treatment);
  out["findings"] = findings;
  return out;
}

std::optional<GuardVersion> guard_version_argument(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  if (*name == "guard2") return GuardVersion::kGuard2;
  if (*name == "guard3") return GuardVersion::kGuard3;
  if (*name == "guard3-1b") return GuardVersion::kGuard3_1B;
  if (const auto named = guard_version_from_name(*name)) return named;
  throw Error(ErrorCode::kInvalidArgument,
              "version must be 'guard2', 'guard3' or 'guard3-1b' (or a Llama Guard model name), "
              "got '" +
                  *name + "'");
}

std::vector<ChatTurn> turns_argument(const py::iterable& turns) {
  std::vector<ChatTurn> conversation;
  for (py::handle item : turns) {
    if (py::isinstance<py::dict>(item)) {
      conversation.push_back({item.attr("__getitem__")("role").cast<std::string>(),
                              item.attr("__getitem__")("content").cast<std::string>()});
    } else {
      auto pair = item.cast<py::sequence>();
      if (pair.size() != 2) throw Error(ErrorCode::kInvalidArgument, "a turn is (role, content)");
      conversation.push_back({pair[0].cast<std::string>(), pair[1].cast<std::string>()});
    }
  }
  return conversation;
}

// A Guard runs one classification at a time; the lock makes a shared object safe to call from
// several Python threads (they take turns) instead of undefined.
struct PyGuard {
  std::optional<Guard> guard;
  std::mutex mutex;
};

// None, one str or a sequence of str.
std::vector<std::string> phrases_argument(const py::object& phrases) {
  if (phrases.is_none()) return {};
  if (py::isinstance<py::str>(phrases)) return {phrases.cast<std::string>()};
  const auto fail = [&] {
    return py::type_error("blocked_phrases must be a str or a list of str, not " +
                          type_name(phrases));
  };
  if (!py::isinstance<py::sequence>(phrases)) throw fail();
  std::vector<std::string> out;
  for (const auto& item : phrases.cast<py::sequence>()) {
    if (!py::isinstance<py::str>(item)) throw fail();
    out.push_back(item.cast<std::string>());
  }
  return out;
}

InputFilter tagged(InputFilter filter, const char* name,
                   const std::shared_ptr<std::atomic<const char*>>& blocked_by) {
  return [filter = std::move(filter), name, blocked_by](std::string_view prompt_text) {
    InputVerdict verdict = filter(prompt_text);
    if (verdict.block) blocked_by->store(name);
    return verdict;
  };
}

OutputFilter tagged(OutputFilter filter, const char* name,
                    const std::shared_ptr<std::atomic<const char*>>& blocked_by) {
  return [filter = std::move(filter), name, blocked_by](const OutputEvent& event) {
    OutputVerdict verdict = filter(event);
    if (verdict.action == OutputVerdict::Action::kStop) blocked_by->store(name);
    return verdict;
  };
}

}  // namespace

void add_safety_filters(const py::object& guard, bool guard_prompt, bool guard_answer,
                        const py::object& code_scanner, const py::object& blocked_phrases,
                        const Model& model, const std::vector<TokenId>& context,
                        GenerateOptions& options,
                        const std::shared_ptr<std::atomic<const char*>>& blocked_by) {
  const std::vector<std::string> phrases = phrases_argument(blocked_phrases);
  PyGuard* runner = nullptr;
  if (!guard.is_none()) {
    if (!py::isinstance<PyGuard>(guard)) {
      throw py::type_error("guard must be a llama3.Guard or None, not " + type_name(guard));
    }
    runner = &guard.cast<PyGuard&>();
    if (!guard_prompt && !guard_answer) {
      throw Error(ErrorCode::kInvalidArgument,
                  "guard is set with guard_prompt and guard_answer both False");
    }
  }
  const CodeScanner* scanner = nullptr;
  if (!code_scanner.is_none()) {
    if (!py::isinstance<CodeScanner>(code_scanner)) {
      throw py::type_error("code_scanner must be a llama3.CodeScanner or None, not " +
                           type_name(code_scanner));
    }
    scanner = &code_scanner.cast<const CodeScanner&>();
  }
  if (!phrases.empty()) {
    options.input_filters.push_back(
        tagged(blocked_phrases_input_filter(phrases), "blocked_phrases", blocked_by));
    options.output_filters.push_back(
        tagged(blocked_phrases_output_filter(phrases), "blocked_phrases", blocked_by));
  }
  // The Guard filters run on the generating thread, under the object's lock (Guard.classify
  // takes it too).
  if (runner != nullptr && guard_prompt) {
    options.input_filters.push_back(tagged(
        InputFilter(
            [runner, filter = guard_input_filter(*runner->guard)](std::string_view prompt_text) {
              std::lock_guard<std::mutex> lock(runner->mutex);
              return filter(prompt_text);
            }),
        "guard", blocked_by));
  }
  if (scanner != nullptr) {
    options.output_filters.push_back(
        tagged(code_scanner_output_filter(*scanner), "code_scanner", blocked_by));
  }
  if (runner != nullptr && guard_answer) {
    std::vector<ChatTurn> prompt;
    if (model.has_tokenizer() && !context.empty()) {
      prompt = guard_turns_from_prompt_text(model.tokenizer().decode(context, true));
    }
    options.output_filters.push_back(tagged(
        OutputFilter([runner, filter = guard_output_filter(*runner->guard, std::move(prompt))](
                         const OutputEvent& event) {
          if (!event.is_final) return OutputVerdict::pass();  // it judges the finished answer
          std::lock_guard<std::mutex> lock(runner->mutex);
          return filter(event);
        }),
        "guard", blocked_by));
  }
}

void raise_blocked(const GenerateResult& result, const char* filter) {
  const bool refused = result.stop_reason == StopReason::kBlocked;
  const std::string message =
      std::string(refused ? "the prompt was refused by " : "the answer was stopped by ") +
      (filter ? filter : "a filter") + " (" + result.filter_reason + ")";
  py::object cls = py::module_::import("llama3._errors").attr("BlockedError");
  py::dict keywords;
  keywords["reason"] = piece_to_str(result.filter_reason);
  keywords["filter"] = filter ? py::object(py::str(filter)) : py::object(py::none());
  keywords["stop_reason"] = stop_reason_name(result.stop_reason);
  py::object error = cls(message, static_cast<int>(ErrorCode::kBlocked), **keywords);
  PyErr_SetObject(cls.ptr(), error.ptr());
  throw py::error_already_set();
}

void register_safety(py::module_& m) {
  py::class_<CodeScanner>(m, "CodeScanner", R"doc(
The insecure-code scanner: rules (regexes with a CWE id and a severity) matched outside comments.
Immutable; one scanner may be used from many threads.

  CodeScanner()                      the rules built into the library
  CodeScanner(rules_json=TEXT)       rules in the same JSON format (BadFormatError naming the rule)
  CodeScanner(rules_path=PATH)
)doc")
      .def(py::init([](std::optional<std::string> rules_json,
                       std::optional<std::filesystem::path> rules_path) {
             if (rules_json && rules_path) {
               throw Error(ErrorCode::kInvalidArgument, "give rules_json or rules_path, not both");
             }
             if (rules_json) return CodeScanner::from_rules_json(*rules_json, "rules_json");
             if (rules_path) return CodeScanner::from_rules_file(*rules_path);
             return CodeScanner::with_builtin_rules();
           }),
           py::kw_only(), py::arg("rules_json") = py::none(), py::arg("rules_path") = py::none())
      .def(
          "scan",
          [](const CodeScanner& self, const std::string& code, const std::string& language,
             bool markdown) {
            return scan_dict(markdown ? self.scan_markdown(code) : self.scan(code, language));
          },
          py::arg("code"), py::arg("language") = "", py::kw_only(), py::arg("markdown") = false,
          R"doc(
Scans `code` in `language` ("c", "cpp", "py", "js", "rs", ...; "" for every language's rules), or
with markdown=True each fenced code block of a Markdown text with its fence's language.

Returns:
  {"treatment": "ignore"|"warn"|"block", "findings": [{"rule_id", "cwe_id", "severity",
   "language", "line", "column", "description", "matched_text"}, ...]}
)doc")
      .def_property_readonly("rule_count", &CodeScanner::rule_count)
      .def_static("supported_languages", &CodeScanner::supported_languages);

  py::class_<PyGuard>(m, "Guard", R"doc(
A Llama Guard 2/3 classifier over a loaded Guard model.

  Guard(model, *, version=None, threshold=0.5, max_new_tokens=20, n_threads=0, n_ctx=0,
        excluded_categories=())

version: "guard2", "guard3", "guard3-1b" (or a model name); None reads it from the model's
metadata (InvalidArgumentError when that names no Llama Guard).
)doc")
      .def(py::init([](const PyModel& model, std::optional<std::string> version, float threshold,
                       int max_new_tokens, int n_threads, int n_ctx,
                       std::vector<std::string> excluded_categories) {
             GuardOptions options;
             options.version = guard_version_argument(version);
             options.threshold = threshold;
             options.max_new_tokens = max_new_tokens;
             options.n_threads = n_threads;
             options.n_ctx = n_ctx;
             options.excluded_categories = std::move(excluded_categories);
             auto guard = std::make_unique<PyGuard>();
             guard->guard.emplace(model.get(), options);
             return guard;
           }),
           py::arg("model"), py::kw_only(), py::arg("version") = py::none(),
           py::arg("threshold") = 0.5f, py::arg("max_new_tokens") = 20, py::arg("n_threads") = 0,
           py::arg("n_ctx") = 0, py::arg("excluded_categories") = std::vector<std::string>{},
           py::keep_alive<1, 2>())
      .def(
          "classify",
          [](PyGuard& self, const py::iterable& turns) {
            const std::vector<ChatTurn> conversation = turns_argument(turns);
            GuardVerdict verdict;
            {
              py::gil_scoped_release release;
              std::lock_guard<std::mutex> lock(self.mutex);
              verdict = self.guard->classify(conversation);
            }
            py::dict out;
            out["verdict"] = guard_verdict_kind_name(verdict.kind);
            out["categories"] = verdict.categories;
            out["unsafe_probability"] = verdict.unsafe_probability;
            out["threshold_overrode_text"] = verdict.threshold_overrode_text;
            out["raw"] = piece_to_str(verdict.raw);
            return out;
          },
          py::arg("turns"), R"doc(
Classifies the last turn of a conversation (dicts {"role", "content"} or (role, content) pairs,
roles "user" and "assistant"): as a prompt when it is the user's, as a response when it is the
assistant's.

Returns:
  {"verdict": "safe"|"unsafe"|"malformed", "categories": ["S1", ...], "unsafe_probability": float,
   "threshold_overrode_text": bool, "raw": the model's text}
)doc")
      .def_property_readonly(
          "version", [](PyGuard& self) { return guard_version_name(self.guard->version()); })
      .def_property_readonly("threshold", [](PyGuard& self) { return self.guard->threshold(); });
}

}  // namespace llama3::python
