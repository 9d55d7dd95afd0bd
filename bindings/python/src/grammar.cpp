// llama3.Grammar: structured output (GBNF, JSON Schema, regular expressions) for samplers and
// generate()'s grammar= / json_schema= arguments.
#include <pybind11/stl.h>

#include "bindings.hpp"

namespace llama3::python {

const GrammarVocabulary& VocabularyCache::get(const Tokenizer& tokenizer) {
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!vocabulary_) vocabulary_.emplace(tokenizer);
  return *vocabulary_;
}

namespace {

// A schema as JSON text: str as it is, anything else (dict, bool) through json.dumps.
std::string schema_text(const py::object& schema) {
  if (py::isinstance<py::str>(schema)) return schema.cast<std::string>();
  if (py::isinstance<py::dict>(schema) || py::isinstance<py::bool_>(schema)) {
    return py::module_::import("json").attr("dumps")(schema).cast<std::string>();
  }
  throw py::type_error("json_schema must be a str (JSON text), a dict or a bool, not " +
                       py::str(py::type::handle_of(schema).attr("__name__")).cast<std::string>());
}

}  // namespace

std::optional<Grammar> grammar_argument(const py::object& grammar, const py::object& json_schema,
                                        const Tokenizer& tokenizer, VocabularyCache& cache) {
  if (!grammar.is_none() && !json_schema.is_none()) {
    throw Error(ErrorCode::kInvalidArgument, "give grammar or json_schema, not both");
  }
  if (!grammar.is_none()) {
    if (py::isinstance<Grammar>(grammar)) return grammar.cast<Grammar>();
    if (!py::isinstance<py::str>(grammar)) {
      throw py::type_error("grammar must be GBNF text (str) or a llama3.Grammar");
    }
    return Grammar::from_gbnf(grammar.cast<std::string>(), cache.get(tokenizer));
  }
  if (!json_schema.is_none()) {
    return Grammar::from_json_schema(schema_text(json_schema), cache.get(tokenizer));
  }
  return std::nullopt;
}

void register_grammar(py::module_& m) {
  py::class_<Grammar>(m, "Grammar", R"doc(
A compiled grammar: the sampler masks every token that would break it, so the output always
parses. Immutable; one Grammar may serve many samplers and threads. Compiling against a model's
tokenizer prepares its vocabulary once (about a second for 128K tokens) and reuses it.

Example:
  >>> grammar = llama3.Grammar.from_json_schema({"type": "object", "properties":
  ...     {"name": {"type": "string"}}, "required": ["name"]}, model.tokenizer)
  >>> sampler = llama3.Sampler(grammar=grammar, seed=1)
)doc")
      .def_static(
          "from_gbnf",
          [](const std::string& gbnf, const PyTokenizer& tokenizer, const std::string& root) {
            return Grammar::from_gbnf(gbnf, tokenizer.grammar_vocabulary->get(tokenizer.tokenizer),
                                      root);
          },
          py::arg("gbnf"), py::arg("tokenizer"), py::kw_only(), py::arg("root") = "root",
          "GBNF text (llama.cpp's notation). InvalidArgumentError names the line and column.")
      .def_static(
          "from_json_schema",
          [](const py::object& schema, const PyTokenizer& tokenizer) {
            return Grammar::from_json_schema(
                schema_text(schema), tokenizer.grammar_vocabulary->get(tokenizer.tokenizer));
          },
          py::arg("schema"), py::arg("tokenizer"),
          "A JSON Schema (str, dict or bool); '{}' allows any JSON value. A keyword the library "
          "does not enforce raises InvalidArgumentError naming it.")
      .def_static(
          "from_regex",
          [](const std::string& pattern, const PyTokenizer& tokenizer) {
            return Grammar::from_regex(pattern,
                                       tokenizer.grammar_vocabulary->get(tokenizer.tokenizer));
          },
          py::arg("pattern"), py::arg("tokenizer"),
          "A regular expression the whole output must match.")
      .def_static(
          "json_schema_to_gbnf",
          [](const py::object& schema) {
            return Grammar::json_schema_to_gbnf(schema_text(schema));
          },
          py::arg("schema"), "The GBNF a JSON Schema compiles to.")
      .def("__repr__", [](const Grammar&) { return std::string("<llama3.Grammar>"); });
}

}  // namespace llama3::python
