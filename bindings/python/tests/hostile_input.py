"""Counts the hostile inputs the binding tests give the library, for the per-input-class rejection
table in docs/testing.md (scripts/rejection-table.py), as tests/support/hostile_input.hpp does for
the C++ tests.

A test wraps the call that takes one hostile input, naming its class and what it must raise (as
pytest.raises, which it uses, and whose ExceptionInfo it yields):

    with hostile_input("session_state", llama3.BadFormatError):
        session.load_state(b"\\x00" * 64)

The input counts as rejected when the call raised a llama3.Error other than InternalError, or the
TypeError or ValueError with which the binding refuses an argument it cannot convert; as accepted
when the call returned (pytest.raises then fails the test); as failed otherwise (any other
exception, or InternalError).

With LLAMA3_REJECTION_LOG naming a file, the counts are appended to it at exit, one line per input
class: "class <TAB> accepted <TAB> rejected <TAB> failed" (the C++ tests' format).
"""
import atexit
import collections
import contextlib
import os

import pytest

import llama3

_counts = collections.defaultdict(lambda: [0, 0, 0])  # class -> [accepted, rejected, failed]


def _is_clean_rejection(error: BaseException) -> bool:
    if isinstance(error, llama3.Error):
        return not isinstance(error, llama3.InternalError)
    return isinstance(error, (TypeError, ValueError))


@contextlib.contextmanager
def hostile_input(input_class: str, expected, match=None):
    with pytest.raises(expected, match=match) as raised:
        try:
            yield raised
        except BaseException as error:
            _counts[input_class][1 if _is_clean_rejection(error) else 2] += 1
            raise
        _counts[input_class][0] += 1


def counts(input_class: str) -> tuple:
    """(accepted, rejected, failed) so far, for the helper's own test."""
    return tuple(_counts[input_class]) if input_class in _counts else (0, 0, 0)


@atexit.register
def _append_to_log() -> None:
    path = os.environ.get("LLAMA3_REJECTION_LOG")
    # (The helper's own test counts under a class of its own, left out of the table.)
    rows = {name: c for name, c in _counts.items() if not name.startswith("_")}
    if not path or not rows:
        return
    lines = "".join(f"{name}\t{a}\t{r}\t{f}\n" for name, (a, r, f) in sorted(rows.items()))
    with open(path, "a", encoding="utf-8") as log:
        log.write(lines)
