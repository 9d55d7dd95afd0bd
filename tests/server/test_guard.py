"""--guard wiring: with a Llama Guard model every prompt and answer is screened, and
/v1/moderations answers in OpenAI's shape. No real Guard weights exist here, so the guard is a
random-weight model with the Llama 3 vocabulary: its verdicts are not well-formed, and a check that
cannot answer must fail closed (blocked, flagged), which is what these tests see."""
from __future__ import annotations

import json

import pytest

from conftest import RunningServer, assert_error_object


@pytest.fixture(scope="module")
def guarded_server(llama3_vocab_model):
    server = RunningServer(llama3_vocab_model, "--guard", str(llama3_vocab_model),
                           "--guard-version", "3")
    yield server
    assert server.stop() == 0


def test_blocked_prompt_ends_with_content_filter(guarded_server):
    for stream in (False, True):
        status, _, raw = guarded_server.request(
            "POST", "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 4,
             "stream": stream})
        assert status == 200
        if stream:
            events = [line[6:] for line in raw.decode().split("\n") if line.startswith("data: ")]
            assert events[-1] == "[DONE]"
            last = json.loads(events[-2])
            assert last["choices"][0]["finish_reason"] == "content_filter"
        else:
            choice = json.loads(raw)["choices"][0]
            assert choice["finish_reason"] == "content_filter"
            assert choice["message"]["content"] == ""
    assert guarded_server.metrics()["llama3_requests_filtered_total"] == 2


def test_moderations_in_openai_shape(guarded_server):
    status, _, raw = guarded_server.request("POST", "/v1/moderations",
                                            {"input": ["first text", "second text"]})
    assert status == 200
    response = json.loads(raw)
    assert len(response["results"]) == 2
    for result in response["results"]:
        assert result["flagged"] is True  # malformed verdict: fail closed
        assert result["llama_guard"]["verdict"] == "malformed"
        assert set(result["categories"]) == set(result["category_scores"])
        assert "violence" in result["categories"] and "sexual/minors" in result["categories"]
    status, _, raw = guarded_server.request("POST", "/v1/moderations", {"input": 5})
    assert_error_object(raw, status, 400)


def test_moderations_without_guard_is_501(stories_model):
    server = RunningServer(stories_model)
    try:
        status, _, raw = server.request("POST", "/v1/moderations", {"input": "x"})
        assert_error_object(raw, status, 501)
    finally:
        assert server.stop() == 0
