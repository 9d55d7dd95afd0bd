"""Session.generate's safety filters from Python: blocked phrases refuse a prompt and stop an
answer, the code scanner stops insecure code, a Guard on a random-weight model blocks exactly when
its own verdict is not safe; every block raises llama3.BlockedError with its reason and filter.
A grammar that allows one text makes the tiny random model write it."""
import os

import pytest

import llama3
from hostile_input import hostile_input

INSECURE = '```c\nchar b[8];\nstrcpy(b, s);\nputs(b);\n```\n'


@pytest.fixture(scope="module")
def model():
    path = os.environ.get("LLAMA3_TINY_LLAMA31_MODEL")
    if not path or not os.path.exists(path):
        pytest.skip(f"LLAMA3_TINY_LLAMA31_MODEL ({path}) is missing")
    return llama3.Model(path, n_threads=1)


def forced(text):
    """A GBNF grammar whose only sentence is `text`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'root ::= "{escaped}"'


def run(model, prompt, text=None, **filters):
    """Generates greedily (forced to `text` when given); returns (pieces, stream, error)."""
    session = model.session(n_ctx=256)
    stream = session.generate(prompt, sampler=llama3.Sampler(temperature=0), max_tokens=60,
                              grammar=forced(text) if text else None, **filters)
    pieces = []
    try:
        for piece in stream:
            pieces.append(piece)
    except llama3.BlockedError as error:
        return "".join(pieces), stream, error, session
    return "".join(pieces), stream, None, session


def test_a_blocked_phrase_refuses_the_prompt_before_any_decode(model):
    text, stream, error, session = run(model, "Tell me the Launch Codes.",
                                       blocked_phrases=["launch codes"])
    assert error is not None and text == ""
    assert isinstance(error, llama3.Error) and error.code == 8
    assert (error.filter, error.stop_reason) == ("blocked_phrases", "blocked")
    assert error.reason == 'blocked phrase: "launch codes" in the prompt'
    assert "prompt was refused by blocked_phrases" in str(error)
    assert (stream.stop_reason, stream.blocked_by) == ("blocked", "blocked_phrases")
    assert stream.filter_reason == error.reason
    assert session.n_past == 0


def test_a_blocked_phrase_stops_the_answer_at_the_piece_that_completes_it(model):
    full = "Hello, this is a secret message."
    text, stream, error, session = run(model, "Say hello.", full, blocked_phrases="SECRET")
    assert error is not None and error.stop_reason == "filtered"
    assert error.reason == 'blocked phrase: "SECRET" in the answer'
    assert full.startswith(text) and len(text) >= len("Hello, this is a")
    assert "secret" not in text
    assert stream.text == text and session.n_past > 0
    # Without the phrase in the answer, nothing is raised.
    text, stream, error, _ = run(model, "Say hello.", "Hello there.", blocked_phrases="SECRET")
    assert error is None and text == "Hello there." and stream.blocked_by is None


def test_the_code_scanner_stops_insecure_code(model):
    scanner = llama3.CodeScanner()
    text, stream, error, _ = run(model, "Copy a string in C.", INSECURE, code_scanner=scanner)
    assert error is not None and error.filter == "code_scanner"
    assert "c.strcpy" in error.reason and error.stop_reason == "filtered"
    assert INSECURE.startswith(text) and "char b[8];\n" in text
    assert len(text) < INSECURE.index("puts")
    secure = '```c\nchar b[8];\nputs(b);\n```\n'
    text, _, error, _ = run(model, "Print a string in C.", secure, code_scanner=scanner)
    assert error is None and text == secure


def test_a_guard_blocks_exactly_when_its_verdict_is_not_safe(model):
    guard = llama3.Guard(model, version="guard3", max_new_tokens=4, n_threads=1)
    prompt = "How do I bake bread?"
    verdict = guard.classify([("user", prompt)])["verdict"]
    text, stream, error, session = run(model, prompt, guard=guard, guard_answer=False)
    if verdict == "safe":
        assert error is None and session.n_past > 0
    else:
        assert error is not None and error.filter == "guard"
        assert error.stop_reason == "blocked" and error.reason.startswith(f"llama guard: {verdict}")
        assert text == "" and session.n_past == 0
    # The answer is judged once complete: all of it was yielded before the verdict.
    text, stream, error, _ = run(model, prompt, "Mix flour and water.", guard=guard,
                                 guard_prompt=False)
    assert text == "Mix flour and water."
    if error is None:
        assert any(note.startswith("llama guard: ") for note in stream.notes)
    else:
        assert (error.filter, error.stop_reason) == ("guard", "filtered")


def test_completions_route_through_the_same_filters(model):
    with pytest.raises(llama3.BlockedError) as raised:
        model.create_completion("The launch codes are", max_tokens=4,
                                blocked_phrases=["launch codes"])
    assert raised.value.filter == "blocked_phrases"
    with pytest.raises(llama3.BlockedError):
        model.create_chat_completion([{"role": "user", "content": "The launch codes?"}],
                                     max_tokens=4, blocked_phrases=["launch codes"])


def test_bad_filter_arguments_are_refused(model):
    session = model.session(n_ctx=64)
    with hostile_input("python_api", llama3.InvalidArgumentError, match="empty"):
        session.generate("hi", blocked_phrases=[""])
    with hostile_input("python_api", TypeError, match="blocked_phrases"):
        session.generate("hi", blocked_phrases=[3])
    with hostile_input("python_api", TypeError, match="guard"):
        session.generate("hi", guard="yes")
    with hostile_input("python_api", TypeError, match="code_scanner"):
        session.generate("hi", code_scanner=object())
    guard = llama3.Guard(model, version="guard3", max_new_tokens=2, n_threads=1)
    with hostile_input("python_api", llama3.InvalidArgumentError,
                       match="guard_prompt and guard_answer"):
        session.generate("hi", guard=guard, guard_prompt=False, guard_answer=False)


def test_engine_requests_take_the_same_filters(model):
    engine = llama3.Engine(model, n_threads=1, n_ctx=128)
    request = engine.submit("The launch codes, please.", max_tokens=4,
                            blocked_phrases=["launch codes"])
    with pytest.raises(llama3.BlockedError) as raised:
        "".join(request)
    assert (raised.value.filter, raised.value.stop_reason) == ("blocked_phrases", "blocked")
    assert request.stop_reason == "blocked" and request.blocked_by == "blocked_phrases"
    text = "".join(engine.submit("Hello", max_tokens=4, blocked_phrases=["launch codes"],
                                 code_scanner=llama3.CodeScanner()))
    assert isinstance(text, str)
