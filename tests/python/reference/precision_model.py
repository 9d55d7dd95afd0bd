"""Imitate the C++ number formats on top of the float64 reference, to choose comparison tolerances.

The C++ side keeps activations in float32, stores the KV cache as f16 by default, and (docs/design.md)
its fast kernels round the activation row to 8-bit blocks before a quantized dot product (Q8_0
blocks of 32 for the 32-value formats, Q8_K blocks of 256 for the K-quants) or to f16/bf16 for
those weight types. This module applies the same roundings to the reference, so
``python -m reference.precision_model`` measures how far a correct C++ result can drift from the
exact one. The tolerances in ``test_reference_logits.py`` are a safety factor above these figures.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from .llama import LlamaReference
from .tiny_model import write_random_llama

_BLOCK_32 = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"}
_BLOCK_256 = {"Q4_K", "Q5_K", "Q6_K"}


def round_to_8bit_blocks(x: np.ndarray, block: int) -> np.ndarray:
    """Round each ``block`` values of the last axis to int8 * scale (scale = max|x| / 127)."""
    shape = x.shape
    groups = x.reshape(-1, block)
    scale = np.abs(groups).max(axis=1, keepdims=True) / 127.0
    if block == 32:  # Q8_0 stores its scale as f16
        scale = scale.astype(np.float16).astype(np.float64)
    safe = np.where(scale == 0, 1.0, scale)
    return (np.round(groups / safe) * scale).reshape(shape)


def round_to_bf16(x: np.ndarray) -> np.ndarray:
    """Round-to-nearest-even to bfloat16, returned as float64."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
    return bits.astype(np.uint32).view(np.float32).astype(np.float64)


class PrecisionModel(LlamaReference):
    """The reference with activations rounded as a fast kernel for ``weight_type`` would."""

    def __init__(self, path: str | Path, weight_type: str, f16_kv_cache: bool = True) -> None:
        super().__init__(path)
        self.weight_type = weight_type
        self.f16_kv_cache = f16_kv_cache

    def linear(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32).astype(np.float64)
        if self.weight_type in _BLOCK_32:
            x = round_to_8bit_blocks(x, 32)
        elif self.weight_type in _BLOCK_256 and x.shape[-1] % 256 == 0:
            x = round_to_8bit_blocks(x, 256)
        elif self.weight_type == "F16":
            x = x.astype(np.float16).astype(np.float64)
        elif self.weight_type == "BF16":
            x = round_to_bf16(x)
        return (x @ weight.T).astype(np.float32).astype(np.float64)

    def stored_kv(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.float16).astype(np.float64) if self.f16_kv_cache else x


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max(1, std(want)): the measure the logits comparison uses."""
    return float(np.abs(got - want).max() / max(1.0, float(want.std())))


def main() -> None:
    """Print the imitated error for each weight type on a tiny-shaped random model."""
    types = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"]
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (1, 2, 3):
            path = write_random_llama(Path(tmp) / f"m{seed}.gguf", seed, dim=256, n_layers=2,
                                      n_heads=8, n_kv_heads=2, ffn_dim=512, vocab=512)
            exact = LlamaReference(path)
            tokens = np.random.default_rng(seed).integers(0, 512, 16).tolist()
            want = exact.forward(tokens)
            row = [f"seed {seed} std {want.std():6.3f}"]
            for type_name in types:
                got = PrecisionModel(path, type_name).forward(tokens)
                agree = float(np.mean(got.argmax(1) == want.argmax(1)))
                row.append(f"{type_name} {relative_error(got, want):.1e} ({agree:.0%})")
            print(" | ".join(row), file=sys.stdout)


if __name__ == "__main__":
    main()
