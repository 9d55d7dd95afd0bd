"""C++ logits against the float64 NumPy reference, for every weight type and model variant.

For each case ``make_test_model`` writes a random-weight tiny Llama-3-shaped GGUF (dim 256, GQA 8:2,
head_dim 32, vocab 512), ``llama3 eval-logits`` computes float32 logits for every position of a
seeded random token list, and ``reference.llama`` recomputes them in float64 from the same file.

Tolerances. Error is measured as |C++ - reference| / max(1, std(reference logits)), so it is
independent of the logit scale (tied models have ~16x larger logits). The C++ side is *allowed* to
differ from exact arithmetic by: float32 activations, an f16 KV cache (the default), and, in fast
kernels, activations rounded to the weight's companion format: Q8_0 blocks (Q4_0..Q8_0), Q8_K
blocks (K-quants), f16 or bf16. ``python -m reference.precision_model`` imitates exactly those
roundings; on this shape it measures, per type (max / mean of the error above):
  F32 8e-4 / 1.5e-4, F16 1.9e-3 / 3.6e-4, BF16 1.3e-2 / 2.6e-3,
  32-value quants 5.3e-2 / 9.5e-3, K-quants 7.3e-2 / 1.3e-2.
The bounds below are about 3x those: loose enough for any correct implementation, tight enough that
a real bug (wrong RoPE pairing, wrong GQA head, a mis-decoded block, a position off by one) - which
moves logits by O(std) - fails. The argmax must agree wherever the reference's top-2 margin exceeds
twice the max bound, and on at least 75% of positions overall (8-bit activations can flip near-ties).
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conftest import bin_dir
from reference.gguf import GGUFFile
from reference.llama import LlamaReference

pytestmark = pytest.mark.cpp_comparison


@dataclass(frozen=True)
class Tolerance:
    max_error: float  # bound on max |diff| / max(1, std)
    mean_error: float  # bound on mean |diff| / max(1, std)


TOLERANCES = {
    "f32": Tolerance(3e-3, 5e-4),
    "f16": Tolerance(6e-3, 1.2e-3),
    "bf16": Tolerance(4e-2, 8e-3),
    **{t: Tolerance(0.15, 0.03) for t in ("q8_0", "q4_0", "q4_1", "q5_0", "q5_1")},
    **{t: Tolerance(0.2, 0.04) for t in ("q4_k", "q5_k", "q6_k")},
}
VARIANT_FLAGS = {"plain": [], "rope_freqs": ["--rope-freqs"], "tied": ["--tied"]}
N_TOKENS = 12
N_VOCAB_TINY = 512

# Every type once, the variants rotating over them; f32 (the tightest check) in all three; the
# one-token-at-a-time decode path on a float, a 32-value and a K-quant type.
CASES = [(t, list(VARIANT_FLAGS)[i % 3], "batch") for i, t in enumerate(TOLERANCES)]
CASES += [("f32", "rope_freqs", "batch"), ("f32", "tied", "batch"),
          ("f32", "plain", "one-by-one"), ("q4_0", "rope_freqs", "one-by-one"),
          ("q6_k", "tied", "one-by-one")]
CASES = list(dict.fromkeys(CASES))


def _tool(name: str) -> Path:
    path = bin_dir() / name
    if not path.is_file():
        pytest.fail(f"C++ binary {path} is missing: build the project (cmake --build build) or set "
                    f"LLAMA3_BIN_DIR. The reference comparison needs make_test_model and llama3.")
    return path


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stderr}{result.stdout}")


def _case_id(case: tuple[str, str, str]) -> str:
    return "-".join(case)


@pytest.mark.parametrize("weight_type,variant,mode", CASES, ids=[_case_id(c) for c in CASES])
def test_cpp_logits_match_reference(tmp_path: Path, weight_type: str, variant: str,
                                    mode: str) -> None:
    seed = 1000 + CASES.index((weight_type, variant, mode))
    model_path = tmp_path / f"tiny-{weight_type}-{variant}.gguf"
    _run([str(_tool("make_test_model")), "--out", str(model_path), "--shape", "tiny",
          "--type", weight_type, "--seed", str(seed), *VARIANT_FLAGS[variant]])

    # Make sure the file is the case we mean to test before trusting a pass.
    gguf = GGUFFile(model_path)
    assert ("rope_freqs.weight" in gguf.tensors) == (variant == "rope_freqs")
    assert ("output.weight" not in gguf.tensors) == (variant == "tied")
    assert gguf.tensors["blk.0.attn_q.weight"].type_name == weight_type.upper()

    reference = LlamaReference(model_path)
    tokens = np.random.default_rng(seed).integers(0, reference.config.vocab_size, N_TOKENS).tolist()
    print(f"seed={seed} tokens={tokens}")
    out_path = tmp_path / "logits.f32"
    _run([str(_tool("llama3")), "eval-logits", "-m", str(model_path), "--tokens",
          " ".join(map(str, tokens)), "-o", str(out_path),
          *(["--one-by-one"] if mode == "one-by-one" else [])])

    want = reference.forward(tokens)  # [n_tokens, n_vocab] float64
    raw = np.fromfile(out_path, dtype="<f4")
    assert raw.size == want.size, f"C++ wrote {raw.size} floats, expected {want.shape}"
    got = raw.reshape(want.shape).astype(np.float64)
    assert np.isfinite(got).all(), "C++ logits contain NaN or inf"

    tol = TOLERANCES[weight_type]
    scale = max(1.0, float(want.std()))
    error = np.abs(got - want) / scale
    top2 = np.sort(want, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) / scale > 2 * tol.max_error  # positions with a clear winner
    agree = got.argmax(axis=1) == want.argmax(axis=1)
    print(f"{weight_type}/{variant}/{mode}: logit std {want.std():.3f}, max err {error.max():.2e} "
          f"(bound {tol.max_error:.0e}), mean err {error.mean():.2e} (bound {tol.mean_error:.0e}), "
          f"argmax agrees {agree.mean():.0%}")
    assert error.max() <= tol.max_error, \
        f"max error {error.max():.3e} at position {np.unravel_index(error.argmax(), error.shape)}"
    assert error.mean() <= tol.mean_error
    assert agree[clear].all(), f"argmax differs at clear positions {np.flatnonzero(clear & ~agree)}"
    assert agree.mean() >= 0.75
