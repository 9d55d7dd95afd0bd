"""Fixtures of the binding tests. ctest sets PYTHONPATH to build/python and the LLAMA3_* variables
(tests/CMakeLists.txt); a missing data file skips the tests that need it."""
import os

import pytest


def _path(variable):
    value = os.environ.get(variable)
    if not value or not os.path.exists(value):
        pytest.skip(f"{variable} ({value}) is missing")
    return value


@pytest.fixture(scope="session")
def stories_path():
    return _path("LLAMA3_TEST_MODEL")


@pytest.fixture(scope="session")
def tiny_path():
    return _path("LLAMA3_TINY_MODEL")


@pytest.fixture(scope="session")
def vocab_path():
    return _path("LLAMA3_VOCAB")


@pytest.fixture(scope="session")
def reference():
    """The C++ API's generation for the shared settings: (model text settings, expected stdout)."""
    path = _path("LLAMA3_REFERENCE_TEXT")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return {
        "prompt": os.environ["LLAMA3_TEST_PROMPT"],
        "n_tokens": int(os.environ["LLAMA3_TEST_N_TOKENS"]),
        "seed": int(os.environ["LLAMA3_TEST_SEED"]),
        "temperature": float(os.environ["LLAMA3_TEST_TEMPERATURE"]),
        "text": text,
    }
