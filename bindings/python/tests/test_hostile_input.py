"""The binding tests' hostile-input tally (hostile_input.py), which scripts/rejection-table.py reads:
each outcome lands in its column and the exception still reaches pytest.raises."""
import pytest

import llama3
from hostile_input import counts, hostile_input


def test_each_outcome_is_counted_in_its_column():
    before = counts("_self_test")
    with hostile_input("_self_test", llama3.BadFormatError, match="truncated") as raised:
        raise llama3.BadFormatError("truncated state")
    assert raised.value.code == 3
    with hostile_input("_self_test", TypeError):
        raise TypeError("prompt must be str")
    with hostile_input("_self_test", llama3.InternalError):
        raise llama3.InternalError("a bug")
    with hostile_input("_self_test", KeyError):
        raise KeyError("not a clean rejection")
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        with hostile_input("_self_test", llama3.InvalidArgumentError):
            pass
    accepted, rejected, failed = (now - then for now, then in zip(counts("_self_test"), before))
    assert (accepted, rejected, failed) == (1, 2, 2)


def test_an_unexpected_exception_still_fails_the_test():
    with pytest.raises(llama3.IoError):
        with hostile_input("_self_test", llama3.InvalidArgumentError):
            raise llama3.IoError("no such file")
