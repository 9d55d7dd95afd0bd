"""`llama3 serve --lora` end to end: a greedy completion with the server's adapters equals `llama3
generate` with the same adapters, and differs from the base model's; a request's "lora" field picks
among the server's adapters and scales (docs/server.md), [] meaning none. One adapter is PEFT's
safetensors, the other torchtune's adapter_model.pt (a torch.save zip)."""
from __future__ import annotations

import json
import subprocess

import pytest

from conftest import RunningServer, assert_error_object, bin_dir

PROMPT = "Once upon a time"
N_TOKENS = 24


@pytest.fixture(scope="module")
def adapters(stories_model, tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("lora")
    made = []
    for name, extra in (("peft", []), ("torchtune", ["--torchtune", "--torch-save"])):
        subprocess.run([str(bin_dir() / "make_test_lora"), "--model", str(stories_model), "--out",
                        str(folder / name), "--rank", "8", "--alpha", "16", "--seed",
                        str(len(made) + 3), *extra], check=True, capture_output=True)
        made.append(str(folder / name))
    assert (folder / "torchtune" / "adapter_model.pt").is_file()
    return made[0], made[1]


@pytest.fixture(scope="module")
def server(stories_model, adapters):
    peft, torchtune = adapters
    running = RunningServer(stories_model, "--lora", f"{peft}:1.5", "--lora", f"{torchtune}:0.5")
    yield running
    assert running.stop() == 0


def generate(model, *lora: str) -> dict:
    command = [str(bin_dir() / "llama3"), "generate", "-m", str(model), "-p", PROMPT,
               "-n", str(N_TOKENS), "--temp", "0", "-t", "1", "-o", "json", "--logprobs", "0"]
    for spec in lora:
        command += ["--lora", spec]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    document = json.loads(result.stdout)
    return {"text": document["text"], "tokens": [t["text"] for t in document["logprobs"]]}


def complete(server, **fields) -> dict:
    status, _, body = server.request("POST", "/v1/completions",
                                     {"prompt": PROMPT, "max_tokens": N_TOKENS, "temperature": 0,
                                      "logprobs": 0, **fields})
    assert status == 200, body[:300]
    choice = json.loads(body)["choices"][0]
    return {"text": choice["text"], "tokens": choice["logprobs"]["tokens"]}


def test_the_servers_adapters_give_llama3_generates_tokens(server, stories_model, adapters):
    peft, torchtune = adapters
    want = generate(stories_model, f"{peft}:1.5", f"{torchtune}:0.5")
    got = complete(server)
    assert len(got["tokens"]) == N_TOKENS
    assert got == want
    assert got != generate(stories_model)


def test_a_request_picks_adapters_and_scales(server, stories_model, adapters):
    peft, torchtune = adapters
    base = generate(stories_model)
    assert complete(server, lora=[]) == base
    only_torchtune = complete(server, lora=[{"id": 1, "scale": 2.0}])
    assert only_torchtune == generate(stories_model, f"{torchtune}:2")
    assert only_torchtune != base
    assert complete(server, lora=[{"id": 0}]) == generate(stories_model, f"{peft}:1")


def test_the_chat_endpoint_reads_the_lora_field(llama3_vocab_model, tmp_path):
    # stories260K has no chat tokens: a random model with the Llama 3 vocabulary instead.
    adapter = tmp_path / "adapter"
    subprocess.run([str(bin_dir() / "make_test_lora"), "--model", str(llama3_vocab_model),
                    "--out", str(adapter)], check=True, capture_output=True)
    running = RunningServer(llama3_vocab_model, "--lora", str(adapter), "-c", "256")
    try:
        def chat(lora):
            return running.request("POST", "/v1/chat/completions",
                                   {"messages": [{"role": "user", "content": "Hi"}],
                                    "max_tokens": 8, "temperature": 0, "lora": lora})
        status, _, with_adapter = chat([{"id": 0}])
        assert status == 200, with_adapter[:300]
        status, _, at_zero = chat([{"id": 0, "scale": 0}])
        assert status == 200
        status, _, base = chat([])
        assert status == 200
        answer = lambda body: json.loads(body)["choices"][0]["message"]["content"]
        assert answer(at_zero) == answer(base)  # scale 0 is the base model bit for bit
        assert answer(with_adapter) != answer(base)
        status, _, body = chat([{"id": 1}])
        assert assert_error_object(body, status, 400)["param"] == "lora"
    finally:
        assert running.stop() == 0


@pytest.mark.parametrize("lora", [
    [{"id": 2}], [{"id": -1}], [{"id": "0"}], [{"scale": 1}], [{"id": 0, "scale": "x"}],
    [{"id": 0, "scale": 1e9}], [{"id": 0}, {"id": 0}], [0], {"id": 0},
])
def test_a_bad_lora_field_is_400_naming_it(server, lora):
    status, _, body = server.request("POST", "/v1/completions",
                                     {"prompt": PROMPT, "max_tokens": 1, "lora": lora})
    error = assert_error_object(body, status, 400)
    assert "lora" in error["message"] or error["param"] == "lora", error


def test_a_server_without_adapters_refuses_a_lora_field(stories_model):
    running = RunningServer(stories_model)
    try:
        status, _, body = running.request("POST", "/v1/completions",
                                          {"prompt": PROMPT, "max_tokens": 1,
                                           "lora": [{"id": 0}]})
        error = assert_error_object(body, status, 400)
        assert "--lora" in error["message"], error
        status, _, _ = running.request("POST", "/v1/completions",
                                       {"prompt": PROMPT, "max_tokens": 1, "lora": []})
        assert status == 200
    finally:
        assert running.stop() == 0
