// llama3.Tokenizer: text <-> ids and the Llama 3 chat format.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bindings.hpp"
#include "llama3/chat.hpp"
#include "llama3/error.hpp"

namespace llama3::python {
namespace {

// Token bytes may end inside a UTF-8 character; Python text replaces such bytes.
py::str to_text(const std::string& bytes) {
  PyObject* text =
      PyUnicode_DecodeUTF8(bytes.data(), static_cast<Py_ssize_t>(bytes.size()), "replace");
  if (!text) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(text);
}

Role parse_role(const std::string& name) {
  for (Role role : {Role::kSystem, Role::kUser, Role::kAssistant, Role::kIpython}) {
    if (role_name(role) == name) return role;
  }
  throw Error(ErrorCode::kInvalidArgument,
              "unknown role '" + name + "' (expected system, user, assistant or ipython)");
}

Dialog to_dialog(const py::iterable& messages) {
  Dialog dialog;
  for (py::handle item : messages) {
    py::object role, content;
    if (py::isinstance<py::dict>(item)) {
      role = item.attr("__getitem__")("role");
      content = item.attr("__getitem__")("content");
    } else {
      auto pair = item.cast<py::sequence>();
      if (pair.size() != 2)
        throw Error(ErrorCode::kInvalidArgument, "a message is (role, content)");
      role = pair[0];
      content = pair[1];
    }
    bool tool_call = false;
    if (py::isinstance<py::dict>(item)) {
      tool_call = py::bool_(item.attr("get")("tool_call", false));
    }
    dialog.push_back(
        Message{parse_role(role.cast<std::string>()), content.cast<std::string>(), tool_call});
  }
  return dialog;
}

// style: "llama3.0", "llama3.1" or None (detect from the chat template / vocabulary).
void set_style(ChatOptions& options, const std::optional<std::string>& style) {
  if (!style) return;
  if (*style == "llama3.0") {
    options.style = ChatStyle::kLlama30;
  } else if (*style == "llama3.1") {
    options.style = ChatStyle::kLlama31;
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                "style must be 'llama3.0' or 'llama3.1', got '" + *style + "'");
  }
}

}  // namespace

void register_tokenizer(py::module_& m) {
  m.def(
      "parse_tool_calls",
      [](const std::string& answer) {
        const ParsedReply parsed = parse_tool_calls(answer);
        const py::object loads = py::module_::import("json").attr("loads");
        py::list calls;
        for (const ToolCall& call : parsed.tool_calls) {
          py::dict item;
          item["name"] = call.name;
          item["arguments"] = loads(call.arguments);
          calls.append(item);
        }
        py::dict result;
        result["content"] = to_text(parsed.content);
        result["tool_calls"] = calls;
        return result;
      },
      py::arg("answer"), R"doc(
Reads tool calls from an assistant answer decoded with render_special=True.

Recognises JSON {"name", "parameters"} calls (several separated by ';' or newlines), Llama 3.2's
pythonic [f(a=1), g()] list, built-in <|python_tag|>name.call(k="v") calls and
<|python_tag|> code (code_interpreter). Anything malformed is returned as content with no calls.

Returns:
  {"content": str, "tool_calls": [{"name": str, "arguments": dict}, ...]}
)doc");

  py::class_<PyTokenizer>(m, "Tokenizer", R"doc(
Text <-> token ids (Llama 3 BPE, exact to Meta's tokenizer; or a SentencePiece vocabulary).
Immutable and safe to use from many threads. Get one from Model.tokenizer or Tokenizer.load(path).
)doc")
      .def_static(
          "load",
          [](const std::filesystem::path& path) {
            return PyTokenizer{Tokenizer::load(path), {}, std::make_shared<VocabularyCache>()};
          },
          py::arg("path"),
          "Loads tokenizer.json, tokenizer.model (tiktoken) or a .gguf's tokenizer (str or "
          "os.PathLike).")
      .def("__repr__",
           [](const PyTokenizer& self) {
             const bool bpe = self.tokenizer.family() == Tokenizer::Family::kLlama3Bpe;
             return std::string("<llama3.Tokenizer ") + (bpe ? "llama3-bpe" : "sentencepiece") +
                    " vocab_size=" + std::to_string(self.tokenizer.vocab_size()) + ">";
           })
      .def(
          "encode",
          [](const PyTokenizer& self, const std::string& text, bool add_bos, bool add_eos,
             bool parse_special) {
            EncodeOptions options;
            options.add_bos = add_bos;
            options.add_eos = add_eos;
            options.parse_special = parse_special;
            py::gil_scoped_release release;
            return self.tokenizer.encode(text, options);
          },
          py::arg("text"), py::kw_only(), py::arg("add_bos") = false, py::arg("add_eos") = false,
          py::arg("parse_special") = false, R"doc(
Encodes text as token ids.

Arguments:
  text: the text.
  add_bos: prepend <|begin_of_text|> (never twice).
  add_eos: append the end-of-sequence token.
  parse_special: match special-token text such as "<|eot_id|>" (off: it is plain text).

Returns:
  list[int]

Example:
  >>> tokenizer.encode("Hello, world!")
  [9906, 11, 1917, 0]
)doc")
      .def(
          "decode",
          [](const PyTokenizer& self, const std::vector<TokenId>& ids, bool render_special) {
            return to_text(self.tokenizer.decode(ids, render_special));
          },
          py::arg("ids"), py::kw_only(), py::arg("render_special") = false,
          "Decodes ids to text (invalid UTF-8 becomes U+FFFD). Control tokens render as text only "
          "with render_special.")
      .def(
          "piece",
          [](const PyTokenizer& self, TokenId id, bool render_special) {
            return py::bytes(self.tokenizer.piece(id, render_special));
          },
          py::arg("id"), py::kw_only(), py::arg("render_special") = false,
          "The raw bytes of one token (possibly part of a UTF-8 character).")
      .def(
          "encode_dialog",
          [](const PyTokenizer& self, const py::iterable& messages, bool add_generation_prompt,
             std::optional<std::string> style, std::optional<std::string> today_date,
             bool ipython_environment, std::vector<std::string> builtin_tools,
             const py::iterable& tools, bool tools_in_user_message) {
            ChatOptions options;
            const py::object dumps = py::module_::import("json").attr("dumps");
            for (py::handle tool : tools) {
              options.tools.push_back(
                  py::isinstance<py::str>(tool)
                      ? tool.cast<std::string>()
                      : dumps(tool, py::arg("ensure_ascii") = false).cast<std::string>());
            }
            options.tools_in_user_message = tools_in_user_message;
            options.chat_template = self.chat_template;
            if (today_date) options.today_date = *today_date;
            options.ipython_environment = ipython_environment;
            options.builtin_tools = std::move(builtin_tools);
            set_style(options, style);
            const ChatFormat format(self.tokenizer, options);
            return format.encode_dialog_prompt(to_dialog(messages), add_generation_prompt);
          },
          py::arg("messages"), py::kw_only(), py::arg("add_generation_prompt") = true,
          py::arg("style") = py::none(), py::arg("today_date") = py::none(),
          py::arg("ipython_environment") = false,
          py::arg("builtin_tools") = std::vector<std::string>{}, py::arg("tools") = py::tuple(),
          py::arg("tools_in_user_message") = true, R"doc(
Encodes a dialog in the Llama 3 chat format.

Arguments:
  messages: dicts {"role": ..., "content": ...} or (role, content) pairs; roles are system, user,
    assistant and ipython. An assistant dict with "tool_call": True is a tool call (3.1+:
    <|python_tag|> content <|eom_id|>).
  add_generation_prompt: end with the open assistant header.
  style: "llama3.0" or "llama3.1"; None detects it from the model's chat template / vocabulary.
  today_date: 3.1+: the "Today Date:" line (default "26 Jul 2024", as the templates).
  ipython_environment: 3.1+: the "Environment: ipython" line (tools enabled).
  builtin_tools: 3.1+: the "Tools: ..." line, e.g. ["brave_search", "wolfram_alpha"].
  tools: 3.1+: custom tool definitions (dicts or JSON strings), rendered as Meta's templates do.
  tools_in_user_message: put the definitions in the first user message (the templates' default)
    rather than in the system block.

Returns:
  list[int], starting with <|begin_of_text|>.

Example:
  >>> tokenizer.encode_dialog([{"role": "user", "content": "Hi"}])
)doc")
      .def(
          "encode_message",
          [](const PyTokenizer& self, const py::object& message, std::optional<std::string> style) {
            ChatOptions options;
            options.chat_template = self.chat_template;
            set_style(options, style);
            const ChatFormat format(self.tokenizer, options);
            return format.encode_message(to_dialog(py::make_tuple(message)).front());
          },
          py::arg("message"), py::kw_only(), py::arg("style") = py::none(), R"doc(
One message alone, as encode_dialog() renders it inside a dialog: its header, content and end
token, without <|begin_of_text|> or the 3.1 system block. A front end that keeps its Session
appends the new turn (encode_message(...) + encode_header("assistant")) instead of re-encoding the
whole dialog.

Arguments:
  message: a dict {"role", "content"[, "tool_call"]} or a (role, content) pair.
  style: as encode_dialog().
)doc")
      .def(
          "encode_header",
          [](const PyTokenizer& self, const std::string& role, std::optional<std::string> style) {
            ChatOptions options;
            options.chat_template = self.chat_template;
            set_style(options, style);
            const ChatFormat format(self.tokenizer, options);
            return format.encode_header(parse_role(role));
          },
          py::arg("role"), py::kw_only(), py::arg("style") = py::none(),
          "The header that opens a turn of `role` (e.g. \"assistant\" before generating).")
      .def_property_readonly("vocab_size",
                             [](const PyTokenizer& self) { return self.tokenizer.vocab_size(); })
      .def_property_readonly("bos_id",
                             [](const PyTokenizer& self) { return self.tokenizer.bos_id(); })
      .def_property_readonly("eos_id",
                             [](const PyTokenizer& self) { return self.tokenizer.eos_id(); })
      .def(
          "is_end_of_generation",
          [](const PyTokenizer& self, TokenId id) {
            return self.tokenizer.is_end_of_generation(id);
          },
          py::arg("id"))
      .def(
          "find",
          [](const PyTokenizer& self, const std::string& text) {
            return self.tokenizer.find(text);
          },
          py::arg("text"), "The id of the token whose text is exactly `text`, or None.");
}

}  // namespace llama3::python
