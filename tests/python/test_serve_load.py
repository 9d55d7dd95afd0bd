"""bench/serve_load.py against a stdlib mock of an OpenAI streaming server.

The mock streams a known number of content chunks and a usage chunk that reports a different
(known) token count, so the test sees which rule counted the tokens, and that failures are
counted and turn the exit status to 1 instead of vanishing."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SERVE_LOAD = Path(__file__).resolve().parents[2] / "bench" / "serve_load.py"
CHUNKS = 5          # content chunks per answer
USAGE_TOKENS = 7    # what the usage chunk reports


class MockHandler(BaseHTTPRequestHandler):
    fail_every = 0  # answer every n-th chat request with 503 (0: never)
    calls = 0
    lock = threading.Lock()
    bodies = []

    def log_message(self, *args):
        pass

    def reply_json(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/v1/models":
            self.reply_json(200, {"object": "list", "data": [{"id": "mock-model"}]})
        else:
            self.reply_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        with cls.lock:
            cls.calls += 1
            call = cls.calls
            cls.bodies.append(body)
        if cls.fail_every and call % cls.fail_every == 0:
            self.reply_json(503, {"error": {"message": "busy"}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

        def event(payload):
            self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            self.wfile.flush()

        event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        for i in range(CHUNKS):
            event({"choices": [{"index": 0, "delta": {"content": f"w{i} "}}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            event({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": USAGE_TOKENS}})
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def mock_server():
    MockHandler.fail_every = 0
    MockHandler.calls = 0
    MockHandler.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), MockHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_load(url, *extra):
    return subprocess.run([sys.executable, str(SERVE_LOAD), url, "-o", "json", *extra],
                          capture_output=True, text=True, timeout=120)


def test_reports_every_level_with_tokens_from_usage(mock_server):
    run = run_load(mock_server, "-c", "1,3", "-r", "2")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["model"] == "mock-model" and report["count"] == "usage"
    assert [level["clients"] for level in report["levels"]] == [1, 3]
    for level in report["levels"]:
        assert level["requests"] == level["clients"] * 2 and level["errors"] == 0
        assert level["generated_tokens"] == level["requests"] * USAGE_TOKENS
        assert level["requests_per_s"] > 0 and level["generated_tokens_per_s"] > 0
        assert 0 < level["ttft_p50_ms"] <= level["ttft_p99_ms"]
        assert level["prompt_tokens_mean"] == 3  # the mock's usage.prompt_tokens
    # One warm-up request plus 1*2 + 3*2, each with its own prompt and the usage request.
    assert MockHandler.calls == 9
    prompts = {b["messages"][0]["content"] for b in MockHandler.bodies}
    assert len(prompts) == 9
    assert all(b["stream"] and b["stream_options"] == {"include_usage": True}
               for b in MockHandler.bodies)


def test_counts_content_chunks_when_asked(mock_server):
    run = run_load(mock_server, "-c", "2", "-r", "1", "--count", "chunks")
    assert run.returncode == 0, run.stderr
    level = json.loads(run.stdout)["levels"][0]
    assert level["generated_tokens"] == 2 * CHUNKS
    assert all("stream_options" not in b for b in MockHandler.bodies)


def test_failed_requests_are_counted_and_fail_the_run(mock_server):
    MockHandler.fail_every = 3  # the warm-up is call 1; calls 3 and 6 fail
    run = run_load(mock_server, "-c", "2", "-r", "3")
    assert run.returncode == 1
    level = json.loads(run.stdout)["levels"][0]
    assert level["errors"] == 2 and level["requests"] == 4
    assert "HTTP 503" in run.stderr


def test_table_output_and_bad_arguments(mock_server):
    run = subprocess.run([sys.executable, str(SERVE_LOAD), mock_server, "-c", "1", "-r", "1"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "TTFT p99 ms" in run.stdout and "tokens counted from usage" in run.stdout
    bad = run_load(mock_server, "-c", "one")
    assert bad.returncode == 2 and "--clients" in bad.stderr
    unreachable = run_load("http://127.0.0.1:9", "-c", "1")
    assert unreachable.returncode != 0 and "cannot reach" in unreachable.stderr
