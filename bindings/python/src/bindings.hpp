// The pybind11 module `llama3._llama3` over the public C++ API. One file per bound class, each with
// a register_X(module) function (CTranslate2's layout); this header declares them and the
// Python-side holder types they share.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "llama3/engine.hpp"
#include "llama3/error.hpp"
#include "llama3/grammar.hpp"
#include "llama3/lora.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "llama3/tokenizer.hpp"

namespace llama3::python {

namespace py = pybind11;

// A model's vocabulary prepared for grammars: built by the first grammar compiled for the model
// (a walk over the whole vocabulary), then shared by its tokenizers, sessions and later grammars.
class VocabularyCache {
 public:
  // Builds it on first use, with the GIL released.
  const GrammarVocabulary& get(const Tokenizer& tokenizer);

 private:
  std::mutex mutex_;
  std::optional<GrammarVocabulary> vocabulary_;
};

// A loaded model; close() (or leaving a `with` block) drops this handle's reference to the weights
// (sessions and tokenizers made from it keep them alive).
struct PyModel {
  std::optional<Model> model;
  int n_threads = 0;  // default for sessions made from this model
  std::string path;   // as given to load, for repr and completion results
  std::shared_ptr<VocabularyCache> grammar_vocabulary = std::make_shared<VocabularyCache>();

  const Model& get() const;
};

// A tokenizer plus the chat template of the model it came from (for chat-style detection).
struct PyTokenizer {
  Tokenizer tokenizer;
  std::string chat_template;
  std::shared_ptr<VocabularyCache> grammar_vocabulary = std::make_shared<VocabularyCache>();
};

struct PySession {
  std::optional<Session> session;
  bool busy = false;  // a generation stream is running on it
  std::shared_ptr<VocabularyCache> grammar_vocabulary = std::make_shared<VocabularyCache>();

  Session& get();
};

// A llama3.Engine: its engine is shared with the requests in flight (and, for an engine over a
// pipeline, keeps the pipeline alive through its deleter).
struct PyEngine {
  std::shared_ptr<Engine> engine;
  Engine& get();
};

// A prompt as Engine.submit and Pipeline.generate take it: str (encoded with a BOS, special-token
// text parsed) or a list of token ids.
std::vector<TokenId> prompt_ids(const Tokenizer& tokenizer, const py::object& prompt);

// A read-only float32 numpy view of logits [n_vocab]; `owner` (the Python object whose buffer it
// is) stays alive as long as the array does.
py::array logits_view(std::span<const float> logits, py::handle owner);
// [n_rows, n_vocab] rows of such a buffer, read-only, as logits_view.
py::array logits_rows_view(std::span<const float> logits, std::size_t n_rows, py::handle owner);

void register_errors(py::module_& m);
void register_model(py::module_& m);
void register_tokenizer(py::module_& m);
void register_grammar(py::module_& m);
void register_sampler(py::module_& m);
void register_session(py::module_& m);
void register_generation(py::module_& m);
void register_convert(py::module_& m);
void register_engine(py::module_& m);
void register_safety(py::module_& m);
void register_lora(py::module_& m);
void register_log(py::module_& m);
// llama3.Pipeline and llama3.mpi_launched (builds with the MPI pipeline); otherwise
// llama3.Pipeline is absent and llama3.HAS_MPI is False.
void register_distributed(py::module_& m);

// `adapters` as Python gives them: a list of llama3.LoraAdapter or (LoraAdapter, scale) tuples.
std::vector<ActiveLora> active_adapters(const py::object& adapters);

// The grammar a generate()/complete() call asks for: `grammar` (GBNF text or a llama3.Grammar)
// or `json_schema` (JSON text, or a dict/bool dumped to JSON); nullopt when both are None.
// TypeError / InvalidArgumentError for anything else or both at once.
std::optional<Grammar> grammar_argument(const py::object& grammar, const py::object& json_schema,
                                        const Tokenizer& tokenizer, VocabularyCache& cache);

// Session.generate's guard=, code_scanner= and blocked_phrases=: adds their filters to `options`
// (blocked phrases first, then the guard on the prompt; on the answer blocked phrases and the code
// scanner as it streams, the guard once it is complete). The filter that blocks stores its name
// ("blocked_phrases", "guard", "code_scanner") in `blocked_by`. `context` is what the answer
// follows (the whole context once the prompt is fed). The filters hold plain pointers to the
// Python objects: the caller keeps `guard` and `code_scanner` alive while they may run.
// TypeError for arguments of the wrong type, InvalidArgumentError for an empty phrase.
void add_safety_filters(const py::object& guard, bool guard_prompt, bool guard_answer,
                        const py::object& code_scanner, const py::object& blocked_phrases,
                        const Model& model, const std::vector<TokenId>& context,
                        GenerateOptions& options,
                        const std::shared_ptr<std::atomic<const char*>>& blocked_by);

// Raises llama3.BlockedError for a generation a safety filter ended (stop reason kBlocked or
// kFiltered), with its reason, the filter's name (`filter`, nullptr when unknown) and the stop
// reason.
[[noreturn]] void raise_blocked(const GenerateResult& result, const char* filter);

// A generated piece as str (invalid UTF-8, which a piece never holds, becomes U+FFFD).
py::str piece_to_str(const std::string& piece);
// {"drafted", "accepted", "acceptance_rate", "target_passes"}: a finished generation's speculative
// decoding figures, for GenerationStream and EngineRequest alike.
py::dict speculative_dict(const SpeculativeStats& stats);

// The name of a value's type, for TypeError messages.
std::string type_name(const py::handle& value);

// A generate/submit draft_model argument (None or a llama3.Model) into the options, with the draft
// model's thread count; TypeError for anything else.
void set_draft_model(const py::object& draft_model, SpeculativeOptions& options);

// Raises the llama3.Error subclass for `code` (defined in llama3/_errors.py).
[[noreturn]] void raise_error(ErrorCode code, const std::string& message);

}  // namespace llama3::python
