"""The Python binding: generation equal to the C++ API's, tokenizer, chat, logits views, state,
errors, context managers and early stop."""
import threading

import numpy as np
import pytest

import llama3
from hostile_input import hostile_input


def test_generation_matches_the_cpp_api(stories_path, reference):
    with llama3.Model(stories_path) as model:
        session = model.session()
        sampler = llama3.Sampler(temperature=reference["temperature"], seed=reference["seed"])
        stream = session.generate(reference["prompt"], sampler=sampler,
                                  max_tokens=reference["n_tokens"])
        text = "".join(stream)
    assert reference["prompt"] + text + "\n" == reference["text"]
    assert stream.stop_reason in ("max_tokens", "end_of_generation")
    assert len(stream.tokens) <= reference["n_tokens"]


def test_generate_stops_at_a_stop_string_and_on_close(stories_path, reference):
    model = llama3.Model(stories_path, n_threads=1)
    session = model.session(n_ctx=128)
    full = "".join(session.generate(reference["prompt"], max_tokens=30,
                                    sampler=llama3.Sampler(seed=3)))
    word = full.split()[3]
    session.reset()
    stream = session.generate(reference["prompt"], max_tokens=30, stop=[word],
                              sampler=llama3.Sampler(seed=3))
    cut = "".join(stream)
    assert word not in cut and full.startswith(cut) and stream.stop_reason == "stop_string"

    session.reset()
    stream = session.generate(reference["prompt"], max_tokens=30)
    first = next(stream)
    assert first
    with pytest.raises(llama3.InvalidArgumentError):
        session.decode([1])  # busy while the iterator runs
    stream.close()
    assert session.n_past > 0
    session.decode([1])  # usable again


def test_sessions_on_three_threads_give_the_single_thread_text(stories_path):
    """One model shared by three threads, each generating with its own session and seed, gives
    each seed exactly the text a lone session gives it. (That generation releases the GIL is not
    observable here without timing; this checks that sharing the model across threads is safe.)"""
    model = llama3.Model(stories_path)

    def generate(seed):
        session = model.session(n_ctx=128)
        return "".join(session.generate("Once", max_tokens=20, sampler=llama3.Sampler(seed=seed)))

    expected = {seed: generate(seed) for seed in range(3)}
    results = {}
    threads = [threading.Thread(target=lambda s=seed: results.__setitem__(s, generate(s)))
               for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected
    assert all(expected.values())


def test_a_thread_count_beyond_the_machine_is_clamped_with_a_warning(stories_path, capfd):
    """n_threads=100000 starts no 100000 threads: the library clamps it to the machine's hardware
    threads and says so on stderr (its default log sink)."""
    model = llama3.Model(stories_path)
    session = model.session(n_ctx=64, n_threads=100000)
    assert "".join(session.generate("Once", max_tokens=4, sampler=llama3.Sampler(seed=1)))
    assert "100000 threads asked for, more than the" in capfd.readouterr().err


def test_a_log_handler_receives_the_library_warnings_until_reset(stories_path, capfd):
    messages = []
    llama3.set_log_handler(lambda level, message: messages.append((level, message)))
    try:
        model = llama3.Model(stories_path)
        model.session(n_ctx=64, n_threads=100000)
    finally:
        llama3.reset_log_handler()
    assert [level for level, _ in messages] == ["warning"]
    assert messages[0][1].startswith("100000 threads asked for, more than the")
    assert capfd.readouterr().err == ""
    llama3.set_log_handler(None)  # silence
    model.session(n_ctx=64, n_threads=100000)
    llama3.reset_log_handler()
    assert capfd.readouterr().err == ""


def test_decode_returns_a_read_only_view_tied_to_the_session(stories_path):
    model = llama3.Model(stories_path)
    session = model.session(n_ctx=64)
    ids = model.tokenizer.encode("Once upon a time", add_bos=True)
    logits = session.decode(ids)
    assert logits.dtype == np.float32 and logits.shape == (model.n_vocab,)
    assert not logits.flags.writeable and not logits.flags.owndata
    assert np.shares_memory(logits, session.logits)
    copy = np.array(logits)
    del session  # the view keeps the session alive
    assert np.array_equal(copy, logits)
    sampler = llama3.Sampler(temperature=0)
    assert sampler.sample(logits) == int(np.argmax(logits))


def test_state_round_trip(stories_path):
    model = llama3.Model(stories_path)
    first = model.session(n_ctx=64)
    first.decode(model.tokenizer.encode("Once upon a time", add_bos=True))
    state = first.save_state()
    second = model.session(n_ctx=64)
    second.load_state(state)
    assert second.n_past == first.n_past
    np.testing.assert_array_equal(second.logits, first.logits)
    a = "".join(first.generate([], max_tokens=10, sampler=llama3.Sampler(seed=9)))
    b = "".join(second.generate([], max_tokens=10, sampler=llama3.Sampler(seed=9)))
    assert a == b
    with hostile_input("session_state", llama3.BadFormatError):
        second.load_state(b"\x00" * 64)


@pytest.mark.parametrize("kind", ["Q8_0", "BF16"])
def test_a_compact_kv_cache_stays_close_and_its_state_records_the_type(stories_path, kind):
    cache_type = getattr(llama3.KvCacheType, kind)
    model = llama3.Model(stories_path, n_threads=1)
    tokens = model.tokenizer.encode("Once upon a time, there was", add_bos=True)
    q8 = model.session(n_ctx=64, kv_cache_type=cache_type)
    full = model.session(n_ctx=64, kv_cache_type=llama3.KvCacheType.F32)
    a = np.array(q8.decode(tokens))
    b = np.array(full.decode(tokens))
    # q8_0's and bf16's tolerance: 5e-2 of the logits' scale (docs/kv-cache.md).
    assert np.max(np.abs(a - b)) <= 5e-2 * max(1.0, float(np.max(np.abs(b))))
    state = q8.save_state()
    restored = model.session(n_ctx=64, kv_cache_type=cache_type)
    restored.load_state(state)
    np.testing.assert_array_equal(restored.logits, q8.logits)
    refused = f"{kind.lower()} KV cache, but this session's cache is f16"
    with pytest.raises(llama3.InvalidArgumentError, match=refused):
        model.session(n_ctx=64).load_state(state)
    engine = llama3.Engine(model, n_ctx=64, kv_cache_type=cache_type)
    greedy = llama3.Sampler(temperature=0)
    text = "".join(engine.submit("Once upon a time", max_tokens=8, sampler=greedy))
    session = model.session(n_ctx=64, kv_cache_type=cache_type)
    greedy = llama3.Sampler(temperature=0)
    assert text == "".join(session.generate("Once upon a time", max_tokens=8, sampler=greedy))
    engine.close()


def test_generate_reuses_the_context_prefix_and_truncate(stories_path):
    model = llama3.Model(stories_path, n_threads=1)
    tokenizer = model.tokenizer
    used = model.session(n_ctx=128)
    first = tokenizer.encode("Once upon a time, there was a little dog", add_bos=True)
    second = tokenizer.encode("Once upon a time, there was a little cat who", add_bos=True)
    "".join(used.generate(first, max_tokens=5, sampler=llama3.Sampler(temperature=0)))
    reused = used.generate(second, max_tokens=12, sampler=llama3.Sampler(temperature=0))
    reused_text = "".join(reused)
    fresh = model.session(n_ctx=128)
    fresh_text = "".join(fresh.generate(second, max_tokens=12,
                                        sampler=llama3.Sampler(temperature=0)))
    assert reused_text == fresh_text
    np.testing.assert_array_equal(used.logits, fresh.logits)
    assert used.tokens.count(tokenizer.bos_id) == 1  # replaced, not appended after the first prompt
    assert used.tokens[:len(second)] == list(second)

    used.truncate(len(second))
    assert used.n_past == len(second)
    assert len(used.logits) == 0
    with hostile_input("python_api", llama3.InvalidArgumentError):
        used.truncate(len(second) + 1)


def test_errors_map_to_exception_classes(stories_path, tiny_path):
    with hostile_input("python_api", llama3.IoError) as raised:
        llama3.Model("/nonexistent/model.gguf")
    assert isinstance(raised.value, OSError) and raised.value.code == 2
    assert "/nonexistent/model.gguf" in str(raised.value)
    with pytest.raises(llama3.CancelledError):
        llama3.Model(stories_path, progress=lambda fraction: False)
    calls = []
    llama3.Model(stories_path, progress=lambda fraction: calls.append(fraction))
    assert calls and calls[-1] == pytest.approx(1.0)

    model = llama3.Model(tiny_path)
    session = model.session(n_ctx=8)
    with hostile_input("python_api", llama3.ContextFullError):
        session.decode(list(range(9)))
    assert session.n_past == 0
    with hostile_input("python_api", llama3.InvalidArgumentError):
        session.decode([model.n_vocab])
    with pytest.raises(llama3.InvalidArgumentError):
        model.tokenizer  # the tiny model has no tokenizer
    with hostile_input("python_api", llama3.InvalidArgumentError):
        llama3.Sampler(top_p=2.0)
    assert issubclass(llama3.InvalidArgumentError, ValueError)
    assert llama3.error_code_name(6) == "context_full"


def test_context_shift_goes_on_past_a_full_context(stories_path):
    model = llama3.Model(stories_path, n_threads=1)
    greedy = llama3.Sampler(temperature=0)
    stopped = model.session(n_ctx=24).generate("Once upon a time", max_tokens=60, sampler=greedy)
    stopped_text = "".join(stopped)
    assert stopped.stop_reason == "context_full"
    shifted = model.session(n_ctx=24).generate("Once upon a time", max_tokens=60,
                                               sampler=llama3.Sampler(temperature=0),
                                               context_shift=True, keep=2)
    shifted_text = "".join(shifted)
    assert shifted.stop_reason == "max_tokens" and len(shifted.tokens) == 60
    # Until the context first filled, the two generations are the same.
    assert shifted.tokens[:len(stopped.tokens) - 1] == stopped.tokens[:-1]
    assert shifted_text.startswith(stopped_text[:10])

    session = model.session(n_ctx=32)
    ids = model.tokenizer.encode("Once upon a time there was", add_bos=True)
    session.decode(ids)
    last = np.array(session.logits)
    session.shift_context(1, 2)
    assert session.n_past == len(ids) - 2
    assert np.array_equal(np.array(session.logits), last)
    with pytest.raises(llama3.InvalidArgumentError):
        session.shift_context(1, 100)
    assert session.n_past == len(ids) - 2


def test_context_managers_close(stories_path):
    with llama3.Model(stories_path) as model:
        with model.session(n_ctx=32) as session:
            session.decode([1])
        with pytest.raises(llama3.InvalidArgumentError):
            session.decode([1])
    assert model.closed
    with pytest.raises(llama3.InvalidArgumentError):
        model.session()


def test_tokenizer_and_chat(vocab_path):
    tokenizer = llama3.Tokenizer.load(vocab_path)
    assert tokenizer.encode("Hello, world!") == [9906, 11, 1917, 0]
    assert tokenizer.encode("Hello", add_bos=True)[0] == 128000
    assert tokenizer.decode([9906, 11, 1917, 0]) == "Hello, world!"
    assert tokenizer.encode("<|eot_id|>", parse_special=True) == [128009]
    assert tokenizer.encode("<|eot_id|>") != [128009]
    assert tokenizer.piece(128009, render_special=True) == b"<|eot_id|>"
    ids = tokenizer.encode_dialog([{"role": "user", "content": "Hi"}], style="llama3.0")
    assert ids[:2] == [128000, 128006]
    assert tokenizer.decode(ids, render_special=True) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert ids == tokenizer.encode_dialog([("user", "Hi")], style="llama3.0")
    with hostile_input("chat", llama3.InvalidArgumentError):
        tokenizer.encode_dialog([("robot", "Hi")])
    assert tokenizer.is_end_of_generation(128009)
    assert tokenizer.find("<|eot_id|>") == 128009


def test_chat_turns_appended_one_by_one_equal_the_whole_dialog(vocab_path):
    tokenizer = llama3.Tokenizer.load(vocab_path)
    dialog = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
              {"role": "assistant", "content": "Hello!"}, ("user", "And now?")]
    for style in ("llama3.0", "llama3.1"):
        whole = tokenizer.encode_dialog(dialog, style=style)
        first = tokenizer.encode_dialog(dialog[:2], style=style, add_generation_prompt=False)
        appended = first + [token for message in dialog[2:]
                            for token in tokenizer.encode_message(message, style=style)]
        assert appended + tokenizer.encode_header("assistant", style=style) == whole
    assert tokenizer.decode(tokenizer.encode_header("user"), render_special=True) == (
        "<|start_header_id|>user<|end_header_id|>\n\n")
    with hostile_input("chat", llama3.InvalidArgumentError):
        tokenizer.encode_header("robot")


def test_decode_all_logits_rows_equal_decoding_one_by_one(stories_path):
    model = llama3.Model(stories_path)
    ids = model.tokenizer.encode("Once upon a time there was", add_bos=True)
    batch = model.session(n_ctx=64)
    rows = batch.decode_all_logits(ids)
    assert rows.shape == (len(ids), model.n_vocab) and not rows.flags.writeable
    assert np.array_equal(rows[-1], batch.logits)
    single = model.session(n_ctx=64)
    for t, token in enumerate(ids):
        assert np.array_equal(single.decode([token]), rows[t]), t


def test_version():
    assert llama3.__version__.count(".") == 2


def test_quantize_gguf_writes_a_model_that_loads_and_reports_its_error(tiny_path, tmp_path):
    out = tmp_path / "tiny-q4_0.gguf"
    calls = []
    result = llama3.quantize_gguf(tiny_path, out, type="q4_0",
                                  progress=lambda done, total, name: calls.append((done, total)))
    assert [entry["type"] for entry in result["types"]] == ["f32", "q4_0"]
    q4 = result["types"][1]
    assert q4["tensors"] > 0 and q4["bytes"] > 0 and 0.0 < q4["relative_rmse"] < 0.2
    assert any("already q8_0" in warning for warning in result["warnings"])
    total = calls[0][1]
    assert calls == [(done, total) for done in range(total + 1)]
    assert llama3.Model(str(out)).n_vocab == llama3.Model(tiny_path).n_vocab


def test_quantize_gguf_refuses_its_input_and_cancels_cleanly(tiny_path, tmp_path):
    source = tmp_path / "in.gguf"
    source.write_bytes(open(tiny_path, "rb").read())
    before = source.read_bytes()
    with hostile_input("python_api", llama3.InvalidArgumentError, match="is the input"):
        llama3.quantize_gguf(source, source, type="q8_0")
    assert source.read_bytes() == before

    out = tmp_path / "out.gguf"
    out.write_bytes(b"old")
    with pytest.raises(llama3.CancelledError):
        llama3.quantize_gguf(source, out, type="q4_0", progress=lambda done, total, name: done < 2)

    def failing(done, total, name):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        llama3.quantize_gguf(source, out, type="q4_0", progress=failing)
    with hostile_input("python_api", llama3.InvalidArgumentError, match="unknown output type"):
        llama3.quantize_gguf(source, out, type="q3_xs")
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.gguf", "out.gguf"]


def test_engine_requests_match_sessions_and_run_from_threads(stories_path):
    model = llama3.Model(stories_path, n_threads=2)
    prompts = ["Once upon a time", "The little dog", "Lily and Tom"]
    expected = []
    for i, prompt in enumerate(prompts):
        session = model.session(n_ctx=256)
        stream = session.generate(prompt, max_tokens=24, sampler=llama3.Sampler(seed=i))
        expected.append(("".join(stream), stream.stop_reason))
    engine = llama3.Engine(model, n_ctx=256)
    results = [None] * len(prompts)

    def consume(i):
        request = engine.submit(prompts[i], max_tokens=24, sampler=llama3.Sampler(seed=i))
        results[i] = ("".join(request), request.stop_reason)

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected

    request = engine.submit("Once upon a time", max_tokens=200)
    next(request)
    request.cancel()
    rest = list(request)
    assert request.state in ("cancelled", "finished")
    assert len(request.tokens) <= 200 and isinstance(rest, list)
    with hostile_input("python_api", llama3.InvalidArgumentError):
        engine.submit([])


def test_speculative_generation_matches_plain_greedy(stories_path):
    model = llama3.Model(stories_path, n_threads=1)
    prompt = model.tokenizer.encode("Once upon a time, there was a little dog. Once upon a time,",
                                    add_bos=True)

    def run(**speculative):
        stream = model.session(n_ctx=256).generate(
            prompt, max_tokens=40, sampler=llama3.Sampler(temperature=0), **speculative)
        return "".join(stream), stream

    plain_text, plain = run()
    assert plain.speculative is None
    for speculative in ({"lookup": 3}, {"draft_model": model, "draft_max": 4}):
        text, stream = run(**speculative)
        assert text == plain_text
        assert stream.tokens == plain.tokens
        stats = stream.speculative
        assert 0 <= stats["accepted"] <= stats["drafted"]
        assert 0 < stats["target_passes"] <= len(plain.tokens)
    with hostile_input("python_api", llama3.InvalidArgumentError):
        run(lookup=2, draft_model=model)
    with hostile_input("python_api", TypeError):
        run(draft_model="stories260K.gguf")


def test_engine_prompt_lookup_matches_plain_greedy(stories_path):
    model = llama3.Model(stories_path, n_threads=1)
    prompt = "The cat sat on the mat. The dog sat on the log. The cat"
    greedy = llama3.Sampler(temperature=0)
    with llama3.Engine(model, n_ctx=256) as engine:
        plain = engine.submit(prompt, sampler=greedy, max_tokens=60)
        plain_text = "".join(plain)
        assert plain.speculative == {"drafted": 0, "accepted": 0, "acceptance_rate": 0.0,
                                     "target_passes": 0}
        spec = engine.submit(prompt, sampler=greedy, max_tokens=60, lookup=3, draft_max=6)
        assert "".join(spec) == plain_text
        assert spec.tokens == plain.tokens
        stats = spec.speculative
        assert 0 < stats["accepted"] <= stats["drafted"]
        assert 0 < stats["target_passes"] < len(plain.tokens)
        with hostile_input("python_api", llama3.InvalidArgumentError):
            engine.submit(prompt, lookup=17)
        with hostile_input("python_api", llama3.InvalidArgumentError):
            engine.submit(prompt, lookup=2, draft_max=0)


def test_engine_draft_model_matches_plain_greedy(stories_path):
    model = llama3.Model(stories_path, n_threads=1)
    prompt = "Once upon a time, there was a little girl named Lily."
    greedy = llama3.Sampler(temperature=0)
    with llama3.Engine(model, n_ctx=256) as engine:
        plain = engine.submit(prompt, sampler=greedy, max_tokens=50)
        plain_text = "".join(plain)
        # The same weights as the draft: every draft agrees. The draft handle may go at once.
        draft = llama3.Model(stories_path, n_threads=1)
        spec = engine.submit(prompt, sampler=greedy, max_tokens=50, draft_model=draft,
                             draft_max=4)
        del draft
        assert "".join(spec) == plain_text
        assert spec.tokens == plain.tokens
        stats = spec.speculative
        assert 0 < stats["accepted"] <= stats["drafted"]
        assert 0 < stats["target_passes"] < len(plain.tokens)
        with hostile_input("python_api", TypeError):
            engine.submit(prompt, draft_model="model.gguf")
        with hostile_input("python_api", llama3.InvalidArgumentError):
            engine.submit(prompt, draft_model=model, lookup=2)
