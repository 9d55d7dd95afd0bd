"""The official `openai` Python package against `llama3 serve`: completions on stories260K (greedy
output equal to `llama3 generate`'s), chat on a random-weight model with the Llama 3 vocabulary,
streaming and not, usage, logprobs, structured output and tools."""
from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from conftest import RunningServer, bin_dir

PROMPT = "Once upon a time"


@pytest.fixture(scope="module")
def stories_server(stories_model):
    server = RunningServer(stories_model, "--parallel", "4")
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def chat_server(llama3_vocab_model):
    server = RunningServer(llama3_vocab_model, "--parallel", "2", "-c", "1024")
    yield server
    assert server.stop() == 0


def client_for(server: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def generate_text(model, prompt: str, n: int) -> str:
    result = subprocess.run([str(bin_dir() / "llama3"), "generate", "-m", str(model), "-p", prompt,
                             "-n", str(n), "--temp", "0", "-t", "1", "-o", "json"],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout)["text"]


def test_models_lists_the_served_model(stories_server):
    models = client_for(stories_server).models.list()
    assert [m.id for m in models.data] == ["stories260K"]


def test_greedy_completion_equals_llama3_generate(stories_server, stories_model):
    expected = generate_text(stories_model, PROMPT, 40)
    client = client_for(stories_server)
    completion = client.completions.create(model="stories260K", prompt=PROMPT, max_tokens=40,
                                           temperature=0)
    assert completion.choices[0].text == expected
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 40
    assert completion.usage.prompt_tokens == 5  # BOS + 4 tokens, as `llama3 tokenize` says

    chunks = list(client.completions.create(model="stories260K", prompt=PROMPT, max_tokens=40,
                                            temperature=0, stream=True,
                                            stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == expected
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 40


def test_repeated_prompt_reports_cached_tokens(stories_server):
    client = client_for(stories_server)
    prompt = "Tom and his dog went to the park. " * 6  # several 32-token KV blocks
    first = client.completions.create(model="stories260K", prompt=prompt, max_tokens=4,
                                      temperature=0)
    second = client.completions.create(model="stories260K", prompt=prompt, max_tokens=4,
                                       temperature=0)
    assert second.choices[0].text == first.choices[0].text
    assert second.usage.prompt_tokens_details.cached_tokens >= 32
    assert second.usage.prompt_tokens_details.cached_tokens < second.usage.prompt_tokens


def test_completion_logprobs_are_log_probabilities(stories_server):
    completion = client_for(stories_server).completions.create(
        model="stories260K", prompt=PROMPT, max_tokens=8, temperature=0, logprobs=3)
    logprobs = completion.choices[0].logprobs
    assert len(logprobs.tokens) == 8 and "".join(logprobs.tokens) == completion.choices[0].text
    for chosen, value, top in zip(logprobs.tokens, logprobs.token_logprobs, logprobs.top_logprobs):
        assert value <= 0
        assert len(top) == 3
        # Greedy: the chosen token is the most likely one.
        assert max(top.values()) == pytest.approx(value)
        assert top[chosen] == pytest.approx(value)


def test_stop_string_and_seeded_sampling(stories_server):
    client = client_for(stories_server)
    text = client.completions.create(model="stories260K", prompt=PROMPT, max_tokens=40,
                                     temperature=0, stop=[" girl"]).choices[0]
    assert text.finish_reason == "stop" and " girl" not in text.text
    a = client.completions.create(model="stories260K", prompt=PROMPT, max_tokens=30,
                                  temperature=1.0, seed=7).choices[0].text
    b = client.completions.create(model="stories260K", prompt=PROMPT, max_tokens=30,
                                  temperature=1.0, seed=7).choices[0].text
    assert a == b


def test_completion_from_token_list(stories_server):
    client = client_for(stories_server)
    # The token ids of PROMPT (BOS first), as POST /tokenize gives them.
    _, _, body = stories_server.request("POST", "/tokenize",
                                        {"content": PROMPT, "add_special": True})
    tokens = json.loads(body)["tokens"]
    from_ids = client.completions.create(model="stories260K", prompt=tokens, max_tokens=12,
                                         temperature=0).choices[0].text
    from_text = client.completions.create(model="stories260K", prompt=PROMPT, max_tokens=12,
                                          temperature=0).choices[0].text
    assert from_ids == from_text
    _, _, body = stories_server.request("POST", "/detokenize", {"tokens": tokens[1:]})
    assert json.loads(body)["content"] == PROMPT


def test_chat_streaming_equals_whole(chat_server):
    client = client_for(chat_server)
    messages = [{"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Say something."}]
    whole = client.chat.completions.create(model="tiny-llama3", messages=messages, max_tokens=24,
                                           temperature=0)
    choice = whole.choices[0]
    assert whole.object == "chat.completion"
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length")
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens
    stream = client.chat.completions.create(model="tiny-llama3", messages=messages, max_tokens=24,
                                            temperature=0, stream=True)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == choice.message.content
    assert chunks[-1].choices[0].finish_reason == choice.finish_reason


def test_chat_roles_and_logprobs(chat_server):
    client = client_for(chat_server)
    # (Assistant tool calls need the Llama 3.1 vocabulary's <|python_tag|>; this one is 3.0's.)
    messages = [{"role": "developer", "content": "Be brief."},
                {"role": "user", "content": "What is the weather?"},
                {"role": "assistant", "content": "Let me look."},
                {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
                {"role": "user", "content": [{"type": "text", "text": "And "},
                                             {"type": "text", "text": "tomorrow?"}]}]
    completion = client.chat.completions.create(model="tiny-llama3", messages=messages,
                                                max_tokens=6, temperature=0, logprobs=True,
                                                top_logprobs=2)
    content = completion.choices[0].logprobs.content
    assert len(content) == completion.usage.completion_tokens
    for entry in content:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 2
        assert entry.top_logprobs[0].logprob == pytest.approx(entry.logprob)


def test_json_schema_response_format(chat_server):
    client = client_for(chat_server)
    schema = {"type": "object", "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
              "required": ["answer"], "additionalProperties": False}
    completion = client.chat.completions.create(
        model="tiny-llama3", messages=[{"role": "user", "content": "yes or no?"}],
        max_tokens=200, temperature=0.8, seed=3,
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}})
    choice = completion.choices[0]
    assert choice.finish_reason == "stop", choice
    assert json.loads(choice.message.content)["answer"] in ("yes", "no")


def test_tools_need_a_llama31_chat_format(chat_server):
    # The test vocabulary is Llama 3.0's, whose chat format has no tool calls: tools are refused
    # with a reason rather than silently left out of the prompt.
    client = client_for(chat_server)
    tools = [{"type": "function", "function": {
        "name": "weather", "description": "current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="tiny-llama3", max_tokens=2, tools=tools,
                                       messages=[{"role": "user", "content": "Weather?"}])
    assert "3.1" in str(caught.value)
    # tool_choice "none" asks for no tools: the request is served.
    completion = client.chat.completions.create(
        model="tiny-llama3", max_tokens=2, tools=tools, tool_choice="none",
        messages=[{"role": "user", "content": "Weather?"}])
    assert completion.choices[0].finish_reason in ("stop", "length")


def assert_drafts_counted(server: RunningServer) -> None:
    metrics = server.metrics()
    assert metrics["llama3_draft_tokens_total"] > 0
    assert 0 < metrics["llama3_draft_tokens_accepted_total"] <= metrics[
        "llama3_draft_tokens_total"]


def test_prompt_lookup_server_answers_as_plain_and_counts_drafts(stories_model):
    """`serve --lookup`: greedy answers equal `llama3 generate`'s, streamed or not, and /metrics
    counts the drafts (the repetitive prompt makes prompt lookup find some)."""
    prompt = "The cat sat on the mat. The dog sat on the log. The cat"
    expected = generate_text(stories_model, prompt, 60)
    server = RunningServer(stories_model, "--parallel", "2", "--lookup", "3", "--draft-max", "6")
    try:
        client = client_for(server)
        completion = client.completions.create(model="stories260K", prompt=prompt, max_tokens=60,
                                               temperature=0)
        assert completion.choices[0].text == expected
        assert completion.usage.completion_tokens == 60
        chunks = list(client.completions.create(model="stories260K", prompt=prompt,
                                                max_tokens=60, temperature=0, stream=True))
        assert "".join(c.choices[0].text for c in chunks if c.choices) == expected
        assert_drafts_counted(server)
    finally:
        assert server.stop() == 0


def test_draft_model_server_answers_as_plain_and_counts_drafts(stories_model):
    """`serve --draft`: with a draft model (here the model itself, so every draft agrees) greedy
    answers equal `llama3 generate`'s, two requests at once, and /metrics counts the drafts."""
    prompts = ["Once upon a time", "Tom had a dog"]
    expected = [generate_text(stories_model, prompt, 40) for prompt in prompts]
    server = RunningServer(stories_model, "--parallel", "2", "--draft", str(stories_model),
                           "--draft-max", "4")
    try:
        client = client_for(server)
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(
                lambda prompt: client.completions.create(model="stories260K", prompt=prompt,
                                                         max_tokens=40, temperature=0),
                prompts))
        assert [a.choices[0].text for a in answers] == expected
        assert_drafts_counted(server)
    finally:
        assert server.stop() == 0


def test_serve_refuses_a_draft_model_it_cannot_use(stories_model, llama3_vocab_model):
    # Another vocabulary: loading fails with the reason, and the process exits non-zero.
    result = subprocess.run([str(bin_dir() / "llama3"), "serve", "-m", str(stories_model),
                             "--port", "0", "--draft", str(llama3_vocab_model)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "vocabulary" in result.stderr
    # --draft and --lookup exclude each other.
    result = subprocess.run([str(bin_dir() / "llama3"), "serve", "-m", str(stories_model),
                             "--draft", str(stories_model), "--lookup", "2"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--lookup" in result.stderr


def test_serve_refuses_an_out_of_range_lookup(stories_model):
    result = subprocess.run([str(bin_dir() / "llama3"), "serve", "-m", str(stories_model),
                             "--lookup", "17"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--lookup" in result.stderr
