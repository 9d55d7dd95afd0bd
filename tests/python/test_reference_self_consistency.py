"""Reference self-tests with no C++ and no data files: invariants the forward pass must satisfy.

They pin down what the logits comparison cannot see on its own: that the causal mask and the
positions are right (batch prefill == one token at a time == recomputing each prefix), that RoPE
rotates adjacent pairs exactly like Meta's complex-number form, that query head h reads KV head
h // n_rep, and that tied embeddings and unit rope_freqs behave as no-ops.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reference.gguf_writer import write_gguf
from reference.llama import KVCache, LlamaReference, apply_rope, rope_angles
from reference.tiny_model import random_llama_tensors, write_random_llama

pytestmark = pytest.mark.reference_selfcheck

SEEDS = [11, 12]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_prefill_equals_incremental_and_prefix_recompute(tmp_path: Path, seed: int) -> None:
    model = LlamaReference(write_random_llama(tmp_path / "m.gguf", seed))
    tokens = np.random.default_rng(seed).integers(0, model.config.vocab_size, 5).tolist()
    print(f"seed={seed} tokens={tokens}")
    prefill = model.forward(tokens)

    cache = KVCache()
    incremental = np.concatenate([model.forward([t], cache) for t in tokens])
    np.testing.assert_allclose(incremental, prefill, rtol=1e-10, atol=1e-10)

    prefixes = np.stack([model.forward(tokens[:n + 1])[-1] for n in range(len(tokens))])
    np.testing.assert_allclose(prefixes, prefill, rtol=1e-10, atol=1e-10)

    # Mixed: two tokens in a batch, then the rest in a second batch after them.
    cache = KVCache()
    mixed = np.concatenate([model.forward(tokens[:2], cache), model.forward(tokens[2:], cache)])
    np.testing.assert_allclose(mixed, prefill, rtol=1e-10, atol=1e-10)


def test_later_tokens_do_not_change_earlier_logits_but_positions_matter(tmp_path: Path) -> None:
    model = LlamaReference(write_random_llama(tmp_path / "m.gguf", 21))
    a = model.forward([3, 7, 9, 1])
    b = model.forward([3, 7, 9, 30])
    np.testing.assert_allclose(a[:3], b[:3], rtol=1e-12, atol=1e-12)
    assert np.abs(a[3] - b[3]).max() > 1e-3
    # The same token pair at shifted positions gives different logits: positions are used.
    c = model.forward([5, 3, 7])
    assert np.abs(c[2] - a[1]).max() > 1e-6


def test_rope_rotates_adjacent_pairs_like_meta_complex_form() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 8))  # [heads, positions, head_dim]
    freqs = np.array([1.0, 2.0, 1.5, 8.0])
    angles = rope_angles(np.arange(4) + 10, 8, 500000.0, freqs)
    # Meta apply_rotary_emb: view (x[2i], x[2i+1]) as a complex number, multiply by e^{i*angle}.
    as_complex = (x[..., 0::2] + 1j * x[..., 1::2]) * np.exp(1j * angles)
    expected = np.stack([as_complex.real, as_complex.imag], axis=-1).reshape(x.shape)
    np.testing.assert_allclose(apply_rope(x, angles), expected, rtol=1e-12, atol=1e-12)
    # Divisors scale the frequency: angle of pair i is pos * base^(-2i/hd) / freqs[i].
    assert angles[0, 3] == pytest.approx(10 * 500000.0 ** (-6 / 8) / 8.0)


def test_query_head_h_reads_kv_head_h_div_n_rep(tmp_path: Path) -> None:
    """A GQA model equals the MHA model whose K/V rows are each KV head repeated in place."""
    metadata, tensors = random_llama_tensors(31, dim=32, n_heads=4, n_kv_heads=2)
    write_gguf(tmp_path / "gqa.gguf", metadata, tensors)
    hd, n_rep = 8, 2
    mha = dict(tensors)
    for name in [n for n in tensors if n.endswith(("attn_k.weight", "attn_v.weight"))]:
        heads = tensors[name].reshape(2, hd, 32)
        mha[name] = np.repeat(heads, n_rep, axis=0).reshape(4 * hd, 32)
    write_gguf(tmp_path / "mha.gguf", metadata | {"llama.attention.head_count_kv": 4}, mha)
    tokens = [1, 5, 9, 2, 7]
    np.testing.assert_allclose(LlamaReference(tmp_path / "gqa.gguf").forward(tokens),
                               LlamaReference(tmp_path / "mha.gguf").forward(tokens),
                               rtol=1e-10, atol=1e-10)


def test_missing_output_weight_ties_to_token_embedding(tmp_path: Path) -> None:
    metadata, tensors = random_llama_tensors(41)
    tied = {k: v for k, v in tensors.items() if k != "output.weight"}
    explicit = tied | {"output.weight": tensors["token_embd.weight"]}
    write_gguf(tmp_path / "tied.gguf", metadata, tied)
    write_gguf(tmp_path / "explicit.gguf", metadata, explicit)
    tied_model = LlamaReference(tmp_path / "tied.gguf")
    assert tied_model.tied
    np.testing.assert_array_equal(tied_model.forward([1, 2, 3]),
                                  LlamaReference(tmp_path / "explicit.gguf").forward([1, 2, 3]))


def test_rope_freqs_divide_frequencies_and_unit_divisors_change_nothing(tmp_path: Path) -> None:
    metadata, tensors = random_llama_tensors(51)
    hd = 32 // 4
    write_gguf(tmp_path / "plain.gguf", metadata, tensors)
    write_gguf(tmp_path / "ones.gguf", metadata,
               tensors | {"rope_freqs.weight": np.ones(hd // 2, np.float32)})
    write_gguf(tmp_path / "scaled.gguf", metadata,
               tensors | {"rope_freqs.weight": np.array([1, 1, 4, 8], np.float32)})
    tokens = [4, 8, 15, 16, 23]
    plain = LlamaReference(tmp_path / "plain.gguf").forward(tokens)
    np.testing.assert_allclose(LlamaReference(tmp_path / "ones.gguf").forward(tokens), plain,
                               rtol=1e-12, atol=1e-12)
    scaled = LlamaReference(tmp_path / "scaled.gguf").forward(tokens)
    np.testing.assert_allclose(scaled[0], plain[0], rtol=1e-12, atol=1e-12)  # position 0: no rotation
    assert np.abs(scaled[1:] - plain[1:]).max() > 1e-4


def test_config_defaults_rope_theta_and_head_dim(tmp_path: Path) -> None:
    metadata, tensors = random_llama_tensors(61)
    del metadata["llama.rope.freq_base"]
    write_gguf(tmp_path / "m.gguf", metadata, tensors)
    cfg = LlamaReference(tmp_path / "m.gguf").config
    assert cfg.rope_theta == 10000.0 and cfg.head_dim == 8 and cfg.n_kv_heads == 2
    assert metadata["llama.embedding_length"] // metadata["llama.attention.head_count"] == 8


def test_head_dim_comes_from_key_length_when_present(tmp_path: Path) -> None:
    """Like Llama 3.2: head_dim is not dim / n_heads, so q/k/v widths follow key_length."""
    metadata, tensors = random_llama_tensors(62, dim=32, n_heads=2, n_kv_heads=1)
    rng = np.random.default_rng(62)
    hd = 32  # dim/n_heads would be 16
    for i in range(2):
        tensors[f"blk.{i}.attn_q.weight"] = rng.standard_normal((2 * hd, 32)).astype(np.float32)
        tensors[f"blk.{i}.attn_k.weight"] = rng.standard_normal((hd, 32)).astype(np.float32)
        tensors[f"blk.{i}.attn_v.weight"] = rng.standard_normal((hd, 32)).astype(np.float32)
        tensors[f"blk.{i}.attn_output.weight"] = rng.standard_normal((32, 2 * hd)).astype(np.float32)
    metadata |= {"llama.attention.key_length": hd, "llama.attention.value_length": hd}
    write_gguf(tmp_path / "m.gguf", metadata, tensors)
    model = LlamaReference(tmp_path / "m.gguf")
    assert model.config.head_dim == hd
    assert model.forward([1, 2]).shape == (2, 40)
