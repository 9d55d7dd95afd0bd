"""Shared pytest setup for the Python suites: paths to test data and C++ binaries."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS_PYTHON_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_PYTHON_DIR.parents[1]
sys.path.insert(0, str(TESTS_PYTHON_DIR))  # makes the ``reference`` package importable


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reference_selfcheck: checks the NumPy reference itself against real trained "
                   "data or its own invariants, with no C++ involved")
    config.addinivalue_line(
        "markers", "cpp_comparison: compares C++ logits with the NumPy reference")


def data_dir() -> Path:
    return Path(os.environ.get("LLAMA3_DATA_DIR", REPO_ROOT / "build" / "data"))


def bin_dir() -> Path:
    return Path(os.environ.get("LLAMA3_BIN_DIR", REPO_ROOT / "build" / "bin"))


def data_file(name: str, why: str) -> Path:
    """Path of a test data file, or skip the test naming the file when it cannot be found."""
    path = data_dir() / name
    if not path.is_file():
        pytest.skip(f"needs {name} ({why}); not found in {data_dir()} - run scripts/fetch-data.sh "
                    f"or set LLAMA3_DATA_DIR")
    return path
