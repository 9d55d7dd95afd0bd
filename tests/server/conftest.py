"""Shared setup of the server tests: each test module starts its own `llama3 serve` on a free
loopback port (--port 0; the port is read from the server's first stderr line) and stops it with
SIGTERM, checking that it exits 0."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Tokens of the Llama 3 vocabulary that end generation; the cancellation tests ban them so that
# a random-weight model keeps generating until it is stopped.
LLAMA3_END_TOKENS = (128001, 128008, 128009)


def data_dir() -> Path:
    return Path(os.environ.get("LLAMA3_DATA_DIR", REPO_ROOT / "build" / "data"))


def bin_dir() -> Path:
    return Path(os.environ.get("LLAMA3_BIN_DIR", REPO_ROOT / "build" / "bin"))


def data_file(name: str) -> Path:
    path = data_dir() / name
    if not path.is_file():
        pytest.skip(f"needs {name}; not found in {data_dir()} - run scripts/fetch-data.sh")
    return path


class RunningServer:
    """A `llama3 serve` child process."""

    def __init__(self, model: Path, *args: str, wait_ready: bool = True) -> None:
        command = [str(bin_dir() / "llama3"), "serve", "-m", str(model), "--port", "0",
                   "-t", "1", *args]
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        line = self.process.stderr.readline()
        match = re.search(r"listening on http://([^:]+):(\d+)", line)
        if not match:
            self.process.kill()
            raise AssertionError(f"unexpected first line from {command}: {line!r}")
        self.port = int(match.group(2))
        self.url = f"http://127.0.0.1:{self.port}"
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as error:
                assert error.code == 503, error.code
            except urllib.error.URLError:
                pass
            if self.process.poll() is not None:
                raise AssertionError(f"server exited {self.process.returncode}: "
                                     f"{self.process.stderr.read()}")
            time.sleep(0.05)
        raise AssertionError("server not ready in time")

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self.process.stderr.close()
        return code

    def request(self, method: str, path: str, body: bytes | str | dict | None = None,
                headers: dict | None = None, timeout: float = 60.0):
        """(status, headers, body bytes) of one request; HTTP errors are returned, not raised."""
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def metrics(self) -> dict[str, float]:
        _, _, body = self.request("GET", "/metrics")
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.split()
                values[name] = float(value)
        return values


@pytest.fixture(scope="session")
def stories_model() -> Path:
    return data_file("stories260K.gguf")


def make_vocab_model(tmp_path_factory, vocab: str, name: str) -> Path:
    """A random-weight model in the tiny shape with the real Llama 3 vocabulary (`vocab` picks the
    token names: "llama3" or "llama3.1")."""
    data_file("ggml-vocab-llama-bpe.gguf")
    path = tmp_path_factory.mktemp("models") / name
    subprocess.run([str(bin_dir() / "make_test_model"), "--out", str(path), "--shape", "tiny",
                    "--vocab", vocab, "--type", "q8_0"],
                   check=True, capture_output=True, env={**os.environ,
                                                         "LLAMA3_DATA_DIR": str(data_dir())})
    return path


@pytest.fixture(scope="session")
def llama3_vocab_model(tmp_path_factory) -> Path:
    return make_vocab_model(tmp_path_factory, "llama3", "tiny-llama3.gguf")


@pytest.fixture(scope="session")
def llama31_vocab_model(tmp_path_factory) -> Path:
    """Llama 3.1's token names: its chat format has tool calls."""
    return make_vocab_model(tmp_path_factory, "llama3.1", "tiny-llama31.gguf")


def assert_error_object(body: bytes, status: int, code: int) -> dict:
    """The body is OpenAI's error object; returns its "error" member."""
    assert status == code, (status, body[:300])
    error = json.loads(body)["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert "param" in error and "code" in error
    return error
