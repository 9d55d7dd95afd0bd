"""Structured output from Python: grammar= / json_schema= on generate, complete and the
OpenAI-shaped calls, llama3.Grammar on a Sampler, tools and tool_calls in create_chat_completion,
and logprobs checked against a log-softmax computed here from the session's logits."""
import json
import os
import re

import numpy as np
import pytest

import llama3
from hostile_input import hostile_input

jsonschema = pytest.importorskip("jsonschema")

PERSON = {"type": "object",
          "properties": {"name": {"type": "string", "maxLength": 8},
                         "age": {"type": "integer", "minimum": 0, "maximum": 120},
                         "color": {"enum": ["red", "green", "blue"]}},
          "required": ["name", "age", "color"]}
WEATHER_TOOL = {"type": "function",
                "function": {"name": "get_weather", "description": "Current weather in a city",
                             "parameters": {"type": "object",
                                            "properties": {"city": {"type": "string"}},
                                            "required": ["city"]}}}
# Makes even a random-weight model answer with a well-formed call.
FORCED_CALL = ('root ::= "{\\"name\\": \\"get_weather\\", \\"parameters\\": {\\"city\\": \\"" '
               '[A-Z] [a-z]{1,8} "\\"}}"')


@pytest.fixture(scope="module")
def stories(stories_path):
    return llama3.Model(stories_path)


@pytest.fixture(scope="module")
def chat_model():
    path = os.environ.get("LLAMA3_TINY_LLAMA31_MODEL")  # 3.1 token names: tool-call turns render
    if not path or not os.path.exists(path):
        pytest.skip(f"LLAMA3_TINY_LLAMA31_MODEL ({path}) is missing")
    return llama3.Model(path)


def test_json_schema_outputs_are_valid_under_jsonschema(stories):
    for seed in range(8):
        result = stories.session().complete(
            "Once upon a time", max_tokens=200, json_schema=PERSON,
            sampler=llama3.Sampler(temperature=1.0, top_p=1.0, seed=seed))
        assert result.stop_reason == "end_of_generation", result
        jsonschema.validate(json.loads(result.text), PERSON)


def test_gbnf_grammar_and_a_grammar_object_on_a_sampler(stories):
    digits = 'root ::= "n=" [0-9]{2,3}'
    text = stories.session().complete("Once", max_tokens=20, grammar=digits,
                                      sampler=llama3.Sampler(temperature=1.0, seed=5)).text
    assert re.fullmatch(r"n=[0-9]{2,3}", text), text

    grammar = llama3.Grammar.from_regex("[a-z]{3}-[0-9]", stories.tokenizer)
    sampler = llama3.Sampler(temperature=1.0, seed=2, grammar=grammar)
    assert sampler.grammar is not None
    text = "".join(stories.session().generate("Once", sampler=sampler, max_tokens=20))
    assert re.fullmatch(r"[a-z]{3}-[0-9]", text), text
    # The sampler follows the grammar: a token that breaks it is refused.
    fresh = llama3.Sampler(grammar=llama3.Grammar.from_gbnf('root ::= "x"', stories.tokenizer))
    digit = stories.tokenizer.encode("7")[-1]
    with hostile_input("grammar", llama3.InvalidArgumentError):
        fresh.accept(digit)


def test_bad_grammars_raise_clear_errors(stories):
    session = stories.session()
    with hostile_input("grammar", llama3.InvalidArgumentError, match="line 1"):
        session.complete("Once", grammar='root ::= "a" (')
    with hostile_input("grammar", llama3.InvalidArgumentError, match="multipleOf"):
        session.complete("Once", json_schema={"type": "number", "multipleOf": 3})
    with hostile_input("python_api", llama3.InvalidArgumentError, match="not both"):
        session.complete("Once", grammar='root ::= "a"', json_schema={})
    with hostile_input("python_api", TypeError):
        session.complete("Once", json_schema=42)
    with hostile_input("python_api", llama3.InvalidArgumentError):
        session.complete("Once", logprobs=True, top_logprobs=21)


def _log_softmax(row):
    row = row.astype(np.float64)
    return row - row.max() - np.log(np.exp(row - row.max()).sum())


def test_logprobs_equal_the_log_softmax_of_the_logits(stories):
    prompt = stories.tokenizer.encode("Once upon a time", add_bos=True)
    result = stories.session().complete(prompt, max_tokens=12, logprobs=True, top_logprobs=4,
                                        sampler=llama3.Sampler(temperature=1.0, seed=4))
    assert len(result.logprobs) == len(result.tokens) > 0
    check = stories.session()
    logits = check.decode(prompt)
    for token, entry in zip(result.tokens, result.logprobs):
        expected = _log_softmax(np.asarray(logits))
        assert entry["token"] == token
        assert entry["logprob"] == pytest.approx(expected[token], abs=1e-4)
        best = np.argsort(-expected, kind="stable")[:4]
        assert [top["token"] for top in entry["top_logprobs"]] == best.tolist()
        for top in entry["top_logprobs"]:
            assert top["logprob"] == pytest.approx(expected[top["token"]], abs=1e-4)
        logits = check.decode([token])
    assert stories.session().complete(prompt, max_tokens=3).logprobs is None


def test_create_completion_logprobs_and_schema(stories):
    out = stories.create_completion("Once upon a time", max_tokens=6, seed=3, logprobs=2)
    logprobs = out["choices"][0]["logprobs"]
    assert len(logprobs["tokens"]) == len(logprobs["token_logprobs"]) == out["usage"][
        "completion_tokens"]
    assert all(len(top) <= 2 for top in logprobs["top_logprobs"])
    assert "".join(logprobs["tokens"]) == out["choices"][0]["text"]
    assert logprobs["text_offset"][0] == 0
    out = stories.create_completion("Once", max_tokens=200, seed=1, json_schema=PERSON)
    jsonschema.validate(json.loads(out["choices"][0]["text"]), PERSON)


def test_chat_completion_json_mode_and_logprobs(chat_model):
    messages = [{"role": "user", "content": "Describe a person as JSON."}]
    out = chat_model.create_chat_completion(messages, max_tokens=200, seed=7,
                                            response_format={"type": "json_object"},
                                            logprobs=True, top_logprobs=2)
    choice = out["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert isinstance(json.loads(choice["message"]["content"]), dict)
    entries = choice["logprobs"]["content"]
    assert len(entries) == out["usage"]["completion_tokens"]
    assert all(len(entry["top_logprobs"]) == 2 and entry["logprob"] <= 0 for entry in entries)
    out = chat_model.create_chat_completion(
        messages, max_tokens=200, seed=8,
        response_format={"type": "json_schema", "json_schema": {"schema": PERSON}})
    jsonschema.validate(json.loads(out["choices"][0]["message"]["content"]), PERSON)


def test_chat_completion_tools_round_trip(chat_model):
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    # The definitions are in the prompt, as the Llama 3.1 templates put them.
    ids = chat_model.tokenizer.encode_dialog(messages, tools=[WEATHER_TOOL])
    prompt = chat_model.tokenizer.decode(ids, render_special=True)
    assert "Environment: ipython" in prompt and '"name": "get_weather"' in prompt

    out = chat_model.create_chat_completion(messages, tools=[WEATHER_TOOL], grammar=FORCED_CALL,
                                            max_tokens=60, seed=1)
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert choice["message"]["content"] is None
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    assert re.fullmatch(r"[A-Z][a-z]{1,8}", json.loads(call["function"]["arguments"])["city"])

    # The call and the tool's result go back in as OpenAI messages.
    follow_up = messages + [choice["message"],
                            {"role": "tool", "tool_call_id": call["id"], "content": '{"temp": 21}'}]
    ids = chat_model.tokenizer.encode_dialog(
        [{"role": "user", "content": "Weather in Paris?"},
         {"role": "assistant", "content": json.dumps(
             {"name": "get_weather",
              "parameters": json.loads(call["function"]["arguments"])}), "tool_call": True},
         {"role": "ipython", "content": '{"temp": 21}'}], tools=[WEATHER_TOOL])
    again = chat_model.create_chat_completion(follow_up, tools=[WEATHER_TOOL], max_tokens=4,
                                              seed=2, logprobs=True)
    assert again["usage"]["prompt_tokens"] == len(ids)

    # Without tools, the same forced text stays content: nothing is guessed into a call.
    plain = chat_model.create_chat_completion(messages, grammar=FORCED_CALL, max_tokens=60, seed=1)
    assert plain["choices"][0]["finish_reason"] == "stop"
    assert plain["choices"][0]["message"]["content"].startswith('{"name": "get_weather"')
