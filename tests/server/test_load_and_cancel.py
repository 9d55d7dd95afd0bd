"""A bounded load test (64 requests, 8 at a time: nothing lost, every response well-formed, greedy
answers identical to the sequential run), cancellation by disconnect (the slot is free again in
/metrics), and shutdown on SIGTERM with a stream in flight (exit 0)."""
from __future__ import annotations

import http.client
import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import LLAMA3_END_TOKENS, RunningServer

N_REQUESTS = 64
STARTS = ["Once upon a time", "Tom had a dog", "The sun was", "Lily went to", "One day",
          "There was a big", "Sam and Mia", "The little bird"]


def request_body(i: int) -> dict:
    body = {"prompt": STARTS[i % len(STARTS)] + (" and" * (i // len(STARTS))),
            "max_tokens": 24 + i % 9}
    # Every other request greedy, compared with the sequential run; the rest sampled with a seed.
    if i % 2 == 0:
        body["temperature"] = 0
    else:
        body.update(temperature=0.9, seed=i)
    return body


def check_well_formed(status: int, raw: bytes, body: dict) -> str:
    assert status == 200, raw[:300]
    response = json.loads(raw)
    assert response["object"] == "text_completion"
    choice = response["choices"][0]
    assert choice["finish_reason"] in ("stop", "length")
    usage = response["usage"]
    assert 1 <= usage["completion_tokens"] <= body["max_tokens"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    return choice["text"]


def test_64_requests_8_at_a_time(stories_model):
    server = RunningServer(stories_model, "--parallel", "8")
    try:
        # (/health answered 503 while the model loaded: those count as failed requests too.)
        failed_before = server.metrics()["llama3_requests_failed_total"]
        bodies = [request_body(i) for i in range(N_REQUESTS)]
        sequential = [check_well_formed(*server.request("POST", "/v1/completions", b)[::2], b)
                      for b in bodies[:16]]
        started = time.monotonic()

        def run(i):
            status, _, raw = server.request("POST", "/v1/completions", bodies[i])
            return check_well_formed(status, raw, bodies[i])

        with ThreadPoolExecutor(max_workers=8) as pool:
            concurrent = list(pool.map(run, range(N_REQUESTS)))
        elapsed = time.monotonic() - started
        assert elapsed < 60, elapsed
        assert len(concurrent) == N_REQUESTS
        # Rows are computed independently, so batching changes no greedy (or seeded) answer.
        assert concurrent[:16] == sequential
        metrics = server.metrics()
        assert metrics["llama3_requests_completion_total"] == N_REQUESTS + 16
        assert metrics["llama3_requests_failed_total"] == failed_before
        assert metrics["llama3_slots_busy"] == 0
    finally:
        assert server.stop() == 0


def open_stream(server: RunningServer) -> http.client.HTTPConnection:
    bias = {str(t): -100 for t in LLAMA3_END_TOKENS}
    body = json.dumps({"messages": [{"role": "user", "content": "Tell a long story."}],
                       "max_tokens": 1500, "stream": True, "temperature": 0, "logit_bias": bias})
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    # The role chunk, then the first content: generation is under way.
    lines = 0
    while lines < 4:
        if response.readline().startswith(b"data: "):
            lines += 1
    return connection


def wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def assert_generation_stopped(server: RunningServer) -> None:
    """The request was cancelled: counted, no sequence runs, and the engine takes no more steps
    (left alone it would go on for well over a thousand tokens)."""
    metrics = server.metrics()
    assert metrics["llama3_requests_cancelled_total"] == 1
    assert metrics["llama3_sequences_running"] == 0
    steps = metrics["llama3_engine_steps_total"]
    time.sleep(0.5)
    assert server.metrics()["llama3_engine_steps_total"] == steps


def test_disconnect_cancels_and_frees_the_slot(llama3_vocab_model):
    server = RunningServer(llama3_vocab_model, "--parallel", "2")
    try:
        connection = open_stream(server)
        assert server.metrics()["llama3_slots_busy"] == 1
        connection.sock.close()
        connection.close()
        assert wait_for(lambda: server.metrics()["llama3_slots_busy"] == 0)
        assert_generation_stopped(server)
        status, _, _ = server.request("POST", "/v1/completions",
                                      {"prompt": "x", "max_tokens": 2})
        assert status == 200
    finally:
        assert server.stop() == 0


def test_sigterm_with_a_stream_in_flight_exits_0(llama3_vocab_model):
    server = RunningServer(llama3_vocab_model, "--shutdown-timeout", "1")
    connection = open_stream(server)
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    # The stream ends (cancelled at the deadline) and the process exits 0 soon after.
    assert server.process.wait(timeout=30) == 0
    assert time.monotonic() - started < 15
    connection.close()
    server.stop()


def test_whole_answers_long_and_abandoned(llama3_vocab_model):
    # The tiny model runs hundreds of tokens a second, faster on a quick machine: a context far past
    # its trained 2048 lets both answers below last for seconds wherever the test runs.
    server = RunningServer(llama3_vocab_model, "--parallel", "2", "--ctx-size", "16384")
    try:
        bias = {str(t): -100 for t in LLAMA3_END_TOKENS}

        def whole_answer(max_tokens: int):
            return server.request("POST", "/v1/completions",
                                  {"prompt": "x", "max_tokens": max_tokens, "temperature": 0,
                                   "logit_bias": bias})

        # This machine's rate, so that the next answer takes about 4 s (at least twice the 2 s
        # after which a whole answer goes out as a chunked body led by spaces).
        started = time.monotonic()
        status, _, _ = whole_answer(400)
        assert status == 200
        rate = 400 / max(time.monotonic() - started, 1e-3)
        n_long = min(12000, max(600, int(rate * 4)))

        started = time.monotonic()
        status, headers, raw = whole_answer(n_long)
        elapsed = time.monotonic() - started
        print(f"{n_long} tokens in {elapsed:.1f} s")
        assert status == 200
        assert json.loads(raw)["usage"]["completion_tokens"] == n_long
        assert elapsed > 2.5, "the answer must outlast the 2 s wait for the chunked path to run"
        assert headers.get("Transfer-Encoding") == "chunked"
        assert raw.startswith(b" ")

        # A client that gives up on a whole answer cancels it too. The answer would run for 16 s at
        # the measured rate; the client leaves after 2.5 s.
        body = json.dumps({"prompt": "x", "max_tokens": min(16000, max(1800, int(rate * 16))),
                           "temperature": 0, "logit_bias": bias})
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        connection.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        assert wait_for(lambda: server.metrics()["llama3_slots_busy"] == 1)
        time.sleep(2.5)
        connection.sock.close()
        connection.close()
        assert wait_for(lambda: server.metrics()["llama3_slots_busy"] == 0)
        assert_generation_stopped(server)
    finally:
        assert server.stop() == 0
