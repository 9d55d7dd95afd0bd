"""Reference self-checks against real trained weights (stories260K.gguf), no C++ involved.

A random-weight model cannot tell a right forward pass from a subtly wrong one (wrong RoPE pairing,
wrong GQA mapping, off-by-one positions all still give "logits"). A trained model can: only the
right computation reproduces its known greedy story and its perplexity on held-out text.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from conftest import data_file
from reference.gguf import GGUFFile
from reference.llama import LlamaReference
from reference.spm import SentencePieceTokenizer, SentencePieceVocab

pytestmark = pytest.mark.reference_selfcheck

EXPECTED_GREEDY_START = (
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
    "One day, she saw a big, red ball. She wanted to play with it, but it was too high")
WINDOW = 1794  # tokens of tinystories_valid_excerpt.txt, BOS included (see the perplexity test)


@lru_cache(maxsize=1)
def _stories() -> tuple[LlamaReference, SentencePieceTokenizer]:
    path = data_file("stories260K.gguf", "the real trained tiny llama")
    return LlamaReference(path), SentencePieceTokenizer(SentencePieceVocab.from_gguf(GGUFFile(path)))


def _excerpt_text() -> str:
    # Text mode, as an independent reader would open it: the file's CRLF line ends become "\n".
    # (Keeping the "\r" bytes gives perplexity ~10.9: "\r" is rare in TinyStories training text.)
    path = data_file("tinystories_valid_excerpt.txt", "held-out text for perplexity")
    return path.read_text(encoding="utf-8")


def _token_nll(logits: np.ndarray, targets: list[int]) -> np.ndarray:
    """Negative log-likelihood of each target under each logits row (log-sum-exp, float64)."""
    top = logits.max(axis=1, keepdims=True)
    log_z = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return log_z - logits[np.arange(len(targets)), targets]


def test_config_read_from_metadata() -> None:
    model, tokenizer = _stories()
    cfg = model.config
    assert (cfg.dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.ffn_dim,
            cfg.vocab_size) == (64, 5, 8, 4, 8, 172, 512)
    assert cfg.rope_theta == 10000.0  # no llama.rope.freq_base key: the default
    assert not model.tied and model.rope_freqs is None
    assert (tokenizer.vocab.bos_id, tokenizer.vocab.eos_id) == (1, 2)


def test_greedy_story_from_bos_matches_known_text() -> None:
    model, tokenizer = _stories()
    ids = model.greedy([tokenizer.vocab.bos_id], n_new=100, stop=tokenizer.vocab.eos_id)
    text = tokenizer.decode(ids)
    print(f"greedy from BOS: {text!r}")
    assert text.startswith(EXPECTED_GREEDY_START), text


def test_tokenizer_encodes_the_story_as_the_model_writes_it() -> None:
    """The model's own greedy ids for the first sentence are the canonical SentencePiece encoding."""
    model, tokenizer = _stories()
    sentence = "Once upon a time, there was a little girl named Lily."
    generated = model.greedy([1], n_new=15)
    encoded = tokenizer.encode(sentence)
    print(f"encoded={encoded}")
    assert encoded == generated[:len(encoded)]
    assert tokenizer.decode(encoded) == sentence


def test_tokenizer_round_trips_the_excerpt_and_uses_byte_fallback_for_newlines() -> None:
    _, tokenizer = _stories()
    text = _excerpt_text()
    ids = tokenizer.encode(text)
    assert ids[0] == 1 and tokenizer.decode(ids) == text
    assert tokenizer.ids["<0x0A>"] in ids  # "\n" is not a piece in this vocab: a byte token
    assert tokenizer.encode("ab", add_bos=False) != tokenizer.encode(" ab", add_bos=False)


def test_perplexity_on_first_1794_tokens_of_excerpt() -> None:
    """Perplexity of BOS + the first 1,793 text tokens (1,794 tokens, 1,793 predictions).

    Measured with this reference: 5.694. Other readings of "the first 1,794 tokens" give 5.693
    (BOS + 1,794 text tokens, 1,794 predictions) and 5.655 (1,794 text tokens, no BOS). The figure
    5.15 quoted in data/README.md is not reproduced by any single-window reading; stories260K was
    trained with a 512-token context, and past ~512 positions its loss rises (positions 1024-1280
    score 8.0 in one window but 6.7 with a 300-token window). A llama.cpp-style run with 512-token
    chunks, BOS first, scoring each chunk's second half gives 5.169, which may be how 5.15 was
    measured. The figure pinned here is the one this reference computes; the greedy story above
    is what ties the reference to the real model.
    """
    model, tokenizer = _stories()
    ids = tokenizer.encode(_excerpt_text())[:WINDOW + 1]
    logits = model.forward(ids[:WINDOW + 1])  # [1795, vocab]
    readings = {
        "BOS + 1793 text tokens": float(np.exp(_token_nll(logits[:WINDOW - 1], ids[1:WINDOW]).mean())),
        "BOS + 1794 text tokens": float(np.exp(_token_nll(logits[:WINDOW], ids[1:WINDOW + 1]).mean())),
    }
    no_bos = model.forward(ids[1:WINDOW + 1])
    readings["1794 text tokens, no BOS"] = float(
        np.exp(_token_nll(no_bos[:-1], ids[2:WINDOW + 1]).mean()))
    for name, ppl in readings.items():
        print(f"perplexity ({name}): {ppl:.4f}")
    assert readings["BOS + 1793 text tokens"] == pytest.approx(5.694, abs=0.05)
    assert readings["BOS + 1794 text tokens"] == pytest.approx(5.693, abs=0.05)
    assert readings["1794 text tokens, no BOS"] == pytest.approx(5.655, abs=0.05)


def test_perplexity_llama_cpp_style_512_chunks_second_half() -> None:
    """llama.cpp `perplexity -c 512` style over the first 1,794 tokens: 3 chunks, BOS first,
    score the second half of each chunk. This is the reading closest to the quoted 5.15."""
    model, tokenizer = _stories()
    ids = tokenizer.encode(_excerpt_text())[:WINDOW]
    ctx, nll = 512, []
    for start in range(0, WINDOW - ctx + 1, ctx):
        chunk = [tokenizer.vocab.bos_id] + ids[start + 1:start + ctx]
        nll.extend(_token_nll(model.forward(chunk)[:-1], chunk[1:])[ctx // 2 - 1:])
    ppl = float(np.exp(np.mean(nll)))
    print(f"perplexity (512-token chunks, second halves, {len(nll)} predictions): {ppl:.4f}")
    assert ppl == pytest.approx(5.15, abs=0.05)
