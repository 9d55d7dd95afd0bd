"""Every error the server answers has OpenAI's error object and the right status, and the server
keeps serving afterwards: malformed JSON and wrong types (400), unknown model (404), API keys (401),
body limit (413), context overflow (400 naming the limits), full queue (429 with Retry-After), and
hostile bodies (deep nesting, huge numbers, invalid UTF-8)."""
from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time

import openai
import pytest

from conftest import LLAMA3_END_TOKENS, RunningServer, assert_error_object, bin_dir


@pytest.fixture(scope="module")
def server(stories_model):
    running = RunningServer(stories_model, "--parallel", "2", "--max-body", "100000")
    yield running
    assert running.stop() == 0


def completion(server, body, **kw):
    return server.request("POST", "/v1/completions", body, **kw)


def test_malformed_json_is_400(server):
    status, _, body = completion(server, '{"prompt": "x", ')
    assert_error_object(body, status, 400)


@pytest.mark.parametrize("field,value", [
    ("temperature", "hot"), ("temperature", 3.5), ("max_tokens", "10"), ("max_tokens", 1.5),
    ("max_tokens", 0), ("top_p", [1]), ("seed", "x"), ("stop", 5), ("stop", [""]),
    ("stream", "yes"), ("logit_bias", {"999999": 1}), ("logit_bias", {"1": "a"}),
    ("logprobs", 99), ("n", 2), ("response_format", {"type": "xml"}), ("prompt", {"a": 1}),
    ("prompt", [1, "x"]), ("prompt", [-1]), ("prompt", [10**12]),
])
def test_wrong_field_is_400_naming_it(server, field, value):
    body = {"prompt": "Once", "max_tokens": 2, field: value}
    status, _, response = completion(server, body)
    error = assert_error_object(response, status, 400)
    assert field in error["message"] or field == error["param"], error


def test_unknown_model_is_404(server):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        client.completions.create(model="gpt-9", prompt="x", max_tokens=1)
    assert caught.value.body["code"] == "model_not_found"


def test_context_overflow_is_400_saying_the_limits(server):
    status, _, body = completion(server, {"prompt": "Once", "max_tokens": 5000})
    error = assert_error_object(body, status, 400)
    assert "2048" in error["message"] and "5000" in error["message"]
    assert error["code"] == "context_length_exceeded"
    status, _, body = completion(server, {"prompt": "a b " * 3000, "max_tokens": 1})
    assert_error_object(body, status, 400)


def test_body_over_the_limit_is_413(server):
    status, _, body = completion(server, {"prompt": "x" * 200_000})
    assert_error_object(body, status, 413)


def test_unknown_path_is_404(server):
    status, _, body = server.request("GET", "/v1/nothing")
    assert_error_object(body, status, 404)


@pytest.mark.parametrize("payload", [
    b"[" * 40_000 + b"]" * 40_000,                            # deep nesting
    b'{"prompt": "x", "a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"prompt": "x", "max_tokens": 1e400}',                   # huge numbers
    b'{"prompt": "x", "max_tokens": 123456789012345678901234567890}',
    b'{"prompt": "x", "temperature": -1e308}',
    b'{"prompt": "\xff\xfe bad utf-8", "max_tokens": 1}',      # invalid UTF-8
    b'{"prompt": "\xc3", "max_tokens": 1}',
    b'{"prompt": "\\ud800", "max_tokens": 1}',                 # lone surrogate escape
    b"",
    b"null",
    b'"just a string"',
    b'{"prompt": "x", "prompt": 5}',
    b"\x00\x01\x02",
])
def test_hostile_bodies_get_400_and_the_server_keeps_serving(server, payload):
    status, _, body = completion(server, payload)
    assert_error_object(body, status, 400)
    status, _, _ = server.request("GET", "/health")
    assert status == 200


def test_hostile_chat_messages(server):
    for messages in ([], "hi", [{"role": "wizard", "content": "x"}], [{"content": "x"}],
                     [{"role": "user", "content": 5}],
                     [{"role": "user", "content": [{"type": "image_url"}]}], [None]):
        status, _, body = server.request("POST", "/v1/chat/completions",
                                         {"messages": messages})
        assert_error_object(body, status, 400)


def test_api_key_is_required_when_set(stories_model, tmp_path):
    key_file = tmp_path / "keys"
    key_file.write_text("# keys\nsecret-two\n")
    running = RunningServer(stories_model, "--api-key", "secret-one", "--api-key-file",
                            str(key_file))
    try:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "secret-one"}):
            status, _, body = running.request("GET", "/v1/models", headers=headers)
            error = assert_error_object(body, status, 401)
            assert error["code"] == "invalid_api_key"
        for key in ("secret-one", "secret-two"):
            status, _, _ = running.request("GET", "/v1/models",
                                           headers={"Authorization": f"Bearer {key}"})
            assert status == 200
        assert running.request("GET", "/health")[0] == 200  # probes carry no key
        client = openai.OpenAI(base_url=running.url + "/v1", api_key="bad", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
    finally:
        assert running.stop() == 0


def test_full_queue_is_429_with_retry_after(llama3_vocab_model):
    running = RunningServer(llama3_vocab_model, "--parallel", "1", "--max-queue", "0")
    try:
        bias = {str(t): -100 for t in LLAMA3_END_TOKENS}
        body = json.dumps({"prompt": "x", "max_tokens": 1500, "stream": True, "temperature": 0,
                           "logit_bias": bias})
        connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=60)
        connection.request("POST", "/v1/completions", body,
                           {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200
        response.readline()  # the slot is taken once the first event arrives
        status, headers, body = completion(running, {"prompt": "x", "max_tokens": 1})
        assert_error_object(body, status, 429)
        assert int(headers["Retry-After"]) >= 1
        connection.close()
    finally:
        assert running.stop() == 0


def test_a_second_server_on_a_busy_port_fails_to_start(stories_model):
    first = RunningServer(stories_model)
    try:
        command = [str(bin_dir() / "llama3"), "serve", "-m", str(stories_model), "--port",
                   str(first.port), "-t", "1"]
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert "cannot listen" in second.stderr
        assert first.request("GET", "/health")[0] == 200
    finally:
        assert first.stop() == 0
