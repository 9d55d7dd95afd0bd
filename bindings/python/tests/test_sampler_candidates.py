"""Sampler.candidates: what a draw could return, with the softmax of the survivors; asking
changes nothing. Hand-written logits, no model."""
import math

import numpy as np
import pytest

import llama3
from hostile_input import hostile_input

LOGITS = np.array([0.5, 2.0, 1.0, -1.0, 1.0], dtype=np.float32)


def test_greedy_has_one_candidate():
    assert llama3.Sampler(temperature=0).candidates(LOGITS) == [(1, 1.0)]


def test_top_k_candidates_carry_the_softmax_of_the_survivors():
    sampler = llama3.Sampler(temperature=1.0, top_k=3, top_p=1.0, seed=7)
    candidates = sampler.candidates(LOGITS)
    assert [token for token, _ in candidates] == [1, 2, 4]  # the tie 2/4: lowest id first
    z = math.exp(2.0) + 2 * math.exp(1.0)
    expected = [math.exp(2.0) / z, math.exp(1.0) / z, math.exp(1.0) / z]
    assert [p for _, p in candidates] == pytest.approx(expected, abs=1e-6)
    # Asking advances nothing: the draws are the same as a fresh sampler's, and among them.
    fresh = llama3.Sampler(temperature=1.0, top_k=3, top_p=1.0, seed=7)
    draws = [sampler.sample(LOGITS) for _ in range(10)]
    assert draws == [fresh.sample(LOGITS) for _ in range(10)]
    assert set(draws) <= {1, 2, 4}


def test_candidates_refuse_a_matrix():
    with hostile_input("python_api", llama3.InvalidArgumentError):
        llama3.Sampler().candidates(np.zeros((2, 3), dtype=np.float32))
