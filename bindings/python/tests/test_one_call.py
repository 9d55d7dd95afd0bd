"""One-call results (Session.complete, Model.create_completion / create_chat_completion), the
argument types the binding accepts and refuses, reprs and the long-context warning."""
import os
import pathlib
import warnings

import pytest

import llama3
from hostile_input import hostile_input


@pytest.fixture(scope="module")
def stories(stories_path):
    return llama3.Model(pathlib.Path(stories_path))


@pytest.fixture(scope="module")
def chat_model():
    path = os.environ.get("LLAMA3_TINY_LLAMA3_MODEL")
    if not path or not os.path.exists(path):
        pytest.skip(f"LLAMA3_TINY_LLAMA3_MODEL ({path}) is missing")
    return llama3.Model(path)


def test_model_and_tokenizer_accept_path_like(stories_path, vocab_path):
    assert llama3.Model(pathlib.Path(stories_path)).n_vocab > 0
    assert llama3.Tokenizer.load(pathlib.Path(vocab_path)).vocab_size == 128256


def test_session_complete_returns_text_reason_usage_and_timings(stories, reference):
    result = stories.session().complete(reference["prompt"], max_tokens=reference["n_tokens"],
                                        sampler=llama3.Sampler(seed=reference["seed"],
                                                               temperature=reference["temperature"]))
    assert isinstance(result, llama3.Completion)
    assert reference["prompt"] + result.text + "\n" == reference["text"]
    assert result.finish_reason in ("stop", "length")
    assert result.usage["completion_tokens"] == len(result.tokens) > 0
    assert result.usage["prompt_tokens"] > 0
    assert result.usage["total_tokens"] == result.usage["prompt_tokens"] + len(result.tokens)
    assert set(result.timings) == {"prompt_ms", "predicted_ms", "prompt_per_second",
                                   "predicted_per_second"}
    assert result.timings["predicted_ms"] > 0


def test_complete_stops_on_a_single_stop_string(stories, reference):
    sampler = lambda: llama3.Sampler(seed=reference["seed"], temperature=reference["temperature"])
    full = stories.session().complete(reference["prompt"], max_tokens=40, sampler=sampler())
    word = full.text.split()[3]
    cut = stories.session().complete(reference["prompt"], max_tokens=40, sampler=sampler(),
                                     stop=word)
    assert cut.finish_reason == "stop" and cut.stop_reason == "stop_string"
    assert cut.text == full.text[:full.text.index(word)]
    listed = stories.session().complete(reference["prompt"], max_tokens=40, sampler=sampler(),
                                        stop=[word, "zzzz"])
    assert listed.text == cut.text


def test_create_completion_is_openai_shaped(stories):
    out = stories.create_completion("Once upon a time", max_tokens=12, seed=3)
    assert out["object"] == "text_completion" and out["id"].startswith("cmpl-")
    assert isinstance(out["created"], int) and out["model"].endswith("stories260K.gguf")
    (choice,) = out["choices"]
    assert choice["index"] == 0 and choice["logprobs"] is None
    assert choice["finish_reason"] == "length" and choice["text"]
    assert out["usage"]["completion_tokens"] == 12
    again = stories.create_completion("Once upon a time", max_tokens=12, seed=3)
    assert again["choices"][0]["text"] == choice["text"]  # a fixed seed repeats


def test_create_completion_streams_chunks_that_add_up(stories):
    whole = stories.create_completion("Once upon a time", max_tokens=20, seed=5)
    chunks = list(stories.create_completion("Once upon a time", max_tokens=20, seed=5,
                                            stream=True))
    assert all(c["object"] == "text_completion" for c in chunks)
    assert "".join(c["choices"][0]["text"] for c in chunks) == whole["choices"][0]["text"]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_seed_none_draws_a_random_seed(stories):
    seeds = {llama3.Sampler(seed=None).seed for _ in range(4)}
    assert len(seeds) > 1
    texts = {stories.create_completion("Once", max_tokens=24, temperature=1.5,
                                       seed=None)["choices"][0]["text"] for _ in range(4)}
    assert len(texts) > 1


def test_create_chat_completion_is_openai_shaped(chat_model):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}]
    out = chat_model.create_chat_completion(messages, max_tokens=8, seed=1)
    assert out["object"] == "chat.completion" and out["id"].startswith("chatcmpl-")
    (choice,) = out["choices"]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in ("stop", "length")
    prompt_ids = chat_model.tokenizer.encode_dialog(messages)
    assert out["usage"]["prompt_tokens"] == len(prompt_ids)

    chunks = list(chat_model.create_chat_completion(messages, max_tokens=8, seed=1, stream=True))
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert chunks[-1]["choices"][0]["delta"] == {}
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert streamed == choice["message"]["content"]


def test_wrong_types_raise_type_error(stories):
    session = stories.session()
    with hostile_input("python_api", TypeError, match="prompt must be str or a list of int"):
        session.generate(None)
    with hostile_input("python_api", TypeError, match="prompt must be str or a list of int"):
        session.generate([1, "two"])
    with hostile_input("python_api", TypeError, match="stop must be a str or a list of str"):
        session.generate("Once", stop=3)
    with hostile_input("python_api", TypeError, match="sampler must be a llama3.Sampler"):
        session.generate("Once", sampler="greedy")
    with hostile_input("python_api", TypeError):
        llama3.Model(None)
    with hostile_input("python_api", TypeError, match="prompt must be str"):
        stories.create_completion(None)
    with hostile_input("python_api", TypeError, match="messages must be a list"):
        stories.create_chat_completion("Hi")


def test_reprs_say_what_the_object_is(stories):
    assert repr(stories).startswith("<llama3.Model '") and "n_vocab=512" in repr(stories)
    session = stories.session(n_ctx=64)
    assert repr(session) == "<llama3.Session n_past=0 n_ctx=64>"
    assert repr(llama3.Sampler(seed=7)).startswith("llama3.Sampler(temperature=0.6")
    assert "seed=7)" in repr(llama3.Sampler(seed=7))
    assert repr(stories.tokenizer).startswith("<llama3.Tokenizer sentencepiece vocab_size=512")
    stream = session.generate("Once", max_tokens=2)
    list(stream)
    assert repr(stream).startswith("<llama3.GenerationStream finished: max_tokens, 2 tokens")
    session.close()
    assert repr(session) == "<llama3.Session (closed)>"


def test_a_context_beyond_the_trained_one_warns(stories):
    trained = stories.context_length
    with pytest.warns(RuntimeWarning, match="beyond the context the model was trained for"):
        stories.session(n_ctx=trained * 2).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stories.session(n_ctx=trained).close()
