"""Random-weight tiny llama models written with ``gguf_writer``, for self-tests without C++."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .gguf_writer import write_gguf


def random_llama_tensors(seed: int, dim: int = 32, n_layers: int = 2, n_heads: int = 4,
                         n_kv_heads: int = 2, ffn_dim: int = 48, vocab: int = 40
                         ) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    """(metadata, float32 tensors in NumPy shape) of a random llama model.

    Weights are scaled by 1/sqrt(fan_in) so activations stay O(1) through the layers and the
    logits are neither saturated nor flat.
    """
    rng = np.random.default_rng(seed)
    hd = dim // n_heads

    def matrix(out_features: int, in_features: int) -> np.ndarray:
        return (rng.standard_normal((out_features, in_features)) / np.sqrt(in_features)).astype(
            np.float32)

    def norm() -> np.ndarray:
        return (1.0 + 0.1 * rng.standard_normal(dim)).astype(np.float32)

    metadata: dict[str, object] = {
        "general.architecture": "llama",
        "llama.context_length": 64,
        "llama.embedding_length": dim,
        "llama.block_count": n_layers,
        "llama.feed_forward_length": ffn_dim,
        "llama.attention.head_count": n_heads,
        "llama.attention.head_count_kv": n_kv_heads,
        "llama.rope.dimension_count": hd,
        "llama.rope.freq_base": 500000.0,
        "llama.attention.layer_norm_rms_epsilon": 1e-5,
    }
    tensors: dict[str, np.ndarray] = {
        "token_embd.weight": rng.standard_normal((vocab, dim)).astype(np.float32),
        "output_norm.weight": norm(),
        "output.weight": matrix(vocab, dim),
    }
    for i in range(n_layers):
        tensors |= {
            f"blk.{i}.attn_norm.weight": norm(),
            f"blk.{i}.attn_q.weight": matrix(n_heads * hd, dim),
            f"blk.{i}.attn_k.weight": matrix(n_kv_heads * hd, dim),
            f"blk.{i}.attn_v.weight": matrix(n_kv_heads * hd, dim),
            f"blk.{i}.attn_output.weight": matrix(dim, n_heads * hd),
            f"blk.{i}.ffn_norm.weight": norm(),
            f"blk.{i}.ffn_gate.weight": matrix(ffn_dim, dim),
            f"blk.{i}.ffn_up.weight": matrix(ffn_dim, dim),
            f"blk.{i}.ffn_down.weight": matrix(dim, ffn_dim),
        }
    return metadata, tensors


def write_random_llama(path: str | Path, seed: int, **shape: int) -> Path:
    metadata, tensors = random_llama_tensors(seed, **shape)
    write_gguf(path, metadata, tensors)
    return Path(path)
