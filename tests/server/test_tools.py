"""Tool calls end to end on a model whose chat format has them (Llama 3.1 token names, random
weights): tool_choice "required" and a named function make every answer a call that parses and
satisfies the function's parameters schema; bad tool_choice values are 400s."""
from __future__ import annotations

import json

import pytest

from conftest import RunningServer, assert_error_object
from test_openai_client import client_for

WEATHER = {"type": "function", "function": {
    "name": "get_weather",
    "description": "The weather forecast for a city",
    "parameters": {"type": "object",
                   "properties": {"city": {"enum": ["Paris", "Oslo", "Lima"]},
                                  "days": {"type": "integer", "minimum": 1, "maximum": 7}},
                   "required": ["city", "days"], "additionalProperties": False}}}
CLOCK = {"type": "function", "function": {
    "name": "get_time",
    "parameters": {"type": "object",
                   "properties": {"zone": {"enum": ["UTC", "CET"]}},
                   "required": ["zone"], "additionalProperties": False}}}
MESSAGES = [{"role": "user", "content": "What will the weather be in Paris this week?"}]
# Room for the longest call the grammar allows: the arguments are enums and a one-digit integer, and
# at most 8 whitespace characters go between JSON tokens, so a call ends well within this many
# tokens whatever the random weights sample (60 was not always enough: a sampled path full of blanks
# could run out before the call closed).
CALL_TOKENS = 400


@pytest.fixture(scope="module")
def tool_server(llama31_vocab_model):
    server = RunningServer(llama31_vocab_model, "--parallel", "2", "-c", "1024")
    yield server
    assert server.stop() == 0


def check_call(call, allowed: dict) -> None:
    """The call names an allowed function and its arguments satisfy that function's schema."""
    assert call.type == "function"
    assert call.id
    assert call.function.name in allowed, call.function.name
    arguments = json.loads(call.function.arguments)
    schema = allowed[call.function.name]["function"]["parameters"]
    assert set(arguments) == set(schema["required"]), arguments
    for key, value in arguments.items():
        spec = schema["properties"][key]
        if "enum" in spec:
            assert value in spec["enum"], (key, value)
        else:
            assert isinstance(value, int) and spec["minimum"] <= value <= spec["maximum"], value


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_required_choice_always_answers_with_a_valid_call(tool_server, seed):
    client = client_for(tool_server)
    reply = client.chat.completions.create(
        model="tiny-llama31", messages=MESSAGES, tools=[WEATHER, CLOCK], tool_choice="required",
        max_tokens=CALL_TOKENS, temperature=1.0, seed=seed)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    assert choice.message.content in (None, "")
    assert len(choice.message.tool_calls) == 1
    check_call(choice.message.tool_calls[0], {"get_weather": WEATHER, "get_time": CLOCK})


def test_named_choice_calls_that_function(tool_server):
    client = client_for(tool_server)
    for seed in (5, 6, 7):
        reply = client.chat.completions.create(
            model="tiny-llama31", messages=MESSAGES, tools=[WEATHER, CLOCK],
            tool_choice={"type": "function", "function": {"name": "get_time"}},
            max_tokens=CALL_TOKENS, temperature=1.0, seed=seed)
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls", choice
        check_call(choice.message.tool_calls[0], {"get_time": CLOCK})


def test_streamed_required_call_arrives_as_tool_call_deltas(tool_server):
    client = client_for(tool_server)
    stream = client.chat.completions.create(
        model="tiny-llama31", messages=MESSAGES, tools=[WEATHER], tool_choice="required",
        max_tokens=CALL_TOKENS, temperature=1.0, seed=11, stream=True)
    name, arguments, finish = "", "", None
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        for call in delta.tool_calls or []:
            assert call.index == 0
            name += call.function.name or ""
            arguments += call.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert name == "get_weather"
    parsed = json.loads(arguments)
    assert parsed["city"] in ("Paris", "Oslo", "Lima") and 1 <= parsed["days"] <= 7


def test_a_tool_result_turn_continues_the_dialog(tool_server):
    # The call we returned, sent back with its result, renders and is served (the model may call
    # again or answer; with a forced choice it must call).
    client = client_for(tool_server)
    first = client.chat.completions.create(
        model="tiny-llama31", messages=MESSAGES, tools=[WEATHER], tool_choice="required",
        max_tokens=CALL_TOKENS, seed=3)
    call = first.choices[0].message.tool_calls[0]
    messages = MESSAGES + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function",
             "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "{\"forecast\": \"sunny\"}"}]
    second = client.chat.completions.create(
        model="tiny-llama31", messages=messages, tools=[WEATHER], tool_choice="required",
        max_tokens=CALL_TOKENS, seed=4)
    assert second.choices[0].finish_reason == "tool_calls"
    assert second.usage.prompt_tokens > first.usage.prompt_tokens


@pytest.mark.parametrize("body_update, param", [
    ({"tool_choice": "sometimes"}, "tool_choice"),
    ({"tool_choice": {"type": "function"}}, "tool_choice"),
    ({"tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
    ({"tool_choice": "required", "tools": []}, "tool_choice"),
    ({"tool_choice": "required",
      "response_format": {"type": "json_object"}}, "tool_choice"),
    ({"tool_choice": "required", "tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "patternProperties": {"^x": {}}}}}]},
     "tools"),
])
def test_bad_tool_choice_is_a_400_naming_the_field(tool_server, body_update, param):
    body = {"messages": MESSAGES, "tools": [WEATHER], "max_tokens": 4, **body_update}
    status, _, reply = tool_server.request("POST", "/v1/chat/completions", body)
    error = assert_error_object(reply, status, 400)
    assert error["param"] == param, error


def test_none_choice_leaves_the_tools_out_of_the_prompt(tool_server):
    client = client_for(tool_server)
    offered = client.chat.completions.create(model="tiny-llama31", messages=MESSAGES,
                                             tools=[WEATHER], max_tokens=1)
    withheld = client.chat.completions.create(model="tiny-llama31", messages=MESSAGES,
                                              tools=[WEATHER], tool_choice="none", max_tokens=1)
    assert withheld.usage.prompt_tokens < offered.usage.prompt_tokens
