"""Runs pytest for ctest so that nothing missing can look like a pass.

    python run_pytest.py --needs numpy,tiktoken -- PYTEST ARGS...

Exits 77 (ctest's SKIP_RETURN_CODE) when a needed package cannot be imported, naming it and the
command that installs it, and also when pytest ran but every test was skipped. Otherwise returns
pytest's own exit code (0 only when something passed and nothing failed).
"""
from __future__ import annotations

import importlib
import sys

SKIP = 77


class _Outcomes:
    """pytest plugin counting test outcomes."""

    def __init__(self) -> None:
        self.passed = 0
        self.skipped = 0

    def pytest_runtest_logreport(self, report) -> None:  # noqa: ANN001 (pytest's TestReport)
        if report.when == "call" and report.passed:
            self.passed += 1
        elif report.skipped:
            self.skipped += 1


def main(argv: list[str]) -> int:
    needs: list[str] = []
    if argv[:1] == ["--needs"]:
        needs = [name for name in argv[1].split(",") if name]
        argv = argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    for name in needs + ["pytest"]:
        try:
            importlib.import_module(name)
        except ImportError as error:
            print(f"SKIPPED: {sys.executable} cannot import {name} ({error}); "
                  f"`bash scripts/python-env.sh` installs the pinned test packages")
            return SKIP
    import pytest

    outcomes = _Outcomes()
    code = int(pytest.main(argv, plugins=[outcomes]))
    if code == 0 and outcomes.passed == 0 and outcomes.skipped > 0:
        print("SKIPPED: every test was skipped (see the reasons above)")
        return SKIP
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
