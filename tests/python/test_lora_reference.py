"""LoRA adapters against a NumPy reference of W + s·B·A.

A PEFT adapter (random A and B, rank 8 and 16, every target) is written here with NumPy in PEFT's
layout: safetensors names ``base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight``, q/k
rows of B in Hugging Face's permuted order. The tiny GGUF model keeps Meta's order, so the
reference un-permutes B's q/k rows itself (Meta row 2j + p is HF row p·head_dim/2 + j per head).

1. ``llama3 export-lora --type f32`` must write W + s·B·A for every target (float32 rounding of a
   float64 reference: bound 1e-5 relative to the largest weight).
2. ``llama3 eval-logits --lora`` (adapters applied at run time) must match the float64 reference
   forward pass over the patched weights within the f32 bounds of test_reference_logits.py.
3. The same update as torchtune saves it (``adapter_model.pt``: a torch.save zip written by
   CPython's pickle, reference/torch_save.py; torchtune names ``layers.N.attn.q_proj.lora_a.weight``;
   q/k rows of B in Meta's order) must give the logits of the PEFT form bit for bit, and so the
   reference's.
"""
from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import bin_dir
from reference.gguf import GGUFFile
from reference.llama import LlamaReference
from reference import quants
from reference.torch_save import torch_save

pytestmark = pytest.mark.cpp_comparison

TARGETS = {  # PEFT module -> (GGUF tensor suffix, attribute of the reference's layer weights)
    "self_attn.q_proj": ("attn_q", "wq"),
    "self_attn.k_proj": ("attn_k", "wk"),
    "self_attn.v_proj": ("attn_v", "wv"),
    "self_attn.o_proj": ("attn_output", "wo"),
    "mlp.gate_proj": ("ffn_gate", "w_gate"),
    "mlp.up_proj": ("ffn_up", "w_up"),
    "mlp.down_proj": ("ffn_down", "w_down"),
}


def _run(args: list[str]) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stderr}{result.stdout}")
    return result.stdout


def _tool(name: str) -> str:
    path = bin_dir() / name
    if not path.is_file():
        pytest.fail(f"C++ binary {path} is missing: build the project or set LLAMA3_BIN_DIR")
    return str(path)


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """safetensors: u64 header length, JSON header, then the tensors' bytes back to back."""
    header, offset, blobs = {}, 0, []
    for name, value in tensors.items():
        data = np.ascontiguousarray(value, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def meta_rows_from_hf(b: np.ndarray, head_dim: int) -> np.ndarray:
    """B [out, r] with q/k rows in HF order -> Meta order."""
    out, rank = b.shape
    return b.reshape(out // head_dim, 2, head_dim // 2, rank).transpose(0, 2, 1, 3).reshape(out, rank)


def make_adapter(folder: Path, reference: LlamaReference, rank: int, alpha: float, rslora: bool,
                 seed: int) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
    """Writes a PEFT adapter; returns {(layer, module): (A, B in HF order)} in float64."""
    cfg = reference.config
    rng = np.random.default_rng(seed)
    tensors, pairs = {}, {}
    for layer_index, layer in enumerate(reference.layers):
        for module, (_, attr) in TARGETS.items():
            out, inp = getattr(layer, attr).shape
            a = rng.normal(0.0, 1.0 / np.sqrt(inp), (rank, inp)).astype(np.float32)
            b = rng.normal(0.0, 0.02, (out, rank)).astype(np.float32)
            prefix = f"base_model.model.model.layers.{layer_index}.{module}"
            tensors[f"{prefix}.lora_A.weight"] = a
            tensors[f"{prefix}.lora_B.weight"] = b
            pairs[(layer_index, module)] = (a.astype(np.float64), b.astype(np.float64))
    folder.mkdir(parents=True)
    write_safetensors(folder / "adapter_model.safetensors", tensors)
    (folder / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "r": rank, "lora_alpha": alpha, "use_rslora": rslora,
        "target_modules": [m.split(".")[1] for m in TARGETS], "bias": "none"}))
    assert cfg.head_dim % 2 == 0
    return pairs


# PEFT module -> torchtune's (torchtune/models/convert_weights.py, _FROM_HF).
TORCHTUNE_MODULES = {
    "self_attn.q_proj": "attn.q_proj", "self_attn.k_proj": "attn.k_proj",
    "self_attn.v_proj": "attn.v_proj", "self_attn.o_proj": "attn.output_proj",
    "mlp.gate_proj": "mlp.w1", "mlp.up_proj": "mlp.w3", "mlp.down_proj": "mlp.w2",
}


def write_torchtune_adapter(folder: Path, pairs, rank: int, alpha: float, head_dim: int) -> None:
    """`pairs` (B in HF order) as torchtune's recipes save them: adapter_model.pt with B's q/k rows
    in Meta's order, adapter_config.json with torchtune's module names."""
    tensors = {}
    for (layer_index, module), (a, b) in pairs.items():
        if module in ("self_attn.q_proj", "self_attn.k_proj"):
            b = meta_rows_from_hf(b, head_dim)
        prefix = f"layers.{layer_index}.{TORCHTUNE_MODULES[module]}"
        tensors[f"{prefix}.lora_a.weight"] = a.astype("<f4")
        tensors[f"{prefix}.lora_b.weight"] = b.astype("<f4")
    folder.mkdir(parents=True)
    torch_save(folder / "adapter_model.pt", tensors)
    (folder / "adapter_config.json").write_text(json.dumps({
        "r": rank, "lora_alpha": alpha, "peft_type": "LORA",
        "target_modules": [TORCHTUNE_MODULES[m].split(".")[1] for m in TARGETS]}))


def patched(reference: LlamaReference, pairs, scale: float) -> LlamaReference:
    head_dim = reference.config.head_dim
    for (layer_index, module), (a, b) in pairs.items():
        _, attr = TARGETS[module]
        if module in ("self_attn.q_proj", "self_attn.k_proj"):
            b = meta_rows_from_hf(b, head_dim)
        layer = reference.layers[layer_index]
        setattr(layer, attr, getattr(layer, attr) + scale * (b @ a))
    return reference


@pytest.mark.parametrize("rank,alpha,rslora,user_scale",
                         [(8, 16.0, False, 1.0), (16, 8.0, True, 0.7)],
                         ids=["r8", "r16-rslora"])
def test_lora_matches_numpy_reference(tmp_path: Path, rank: int, alpha: float, rslora: bool,
                                      user_scale: float) -> None:
    seed = 4200 + rank
    base = tmp_path / "base.gguf"
    _run([_tool("make_test_model"), "--out", str(base), "--shape", "tiny", "--type", "f32",
          "--seed", str(seed)])
    reference = LlamaReference(base)
    adapter = tmp_path / "adapter"
    pairs = make_adapter(adapter, reference, rank, alpha, rslora, seed)
    scale = user_scale * (alpha / np.sqrt(rank) if rslora else alpha / rank)
    print(f"seed={seed} rank={rank} scale={scale}")
    patched(reference, pairs, scale)

    # 1. The merged file holds W + s·B·A.
    merged = tmp_path / "merged.gguf"
    _run([_tool("llama3"), "export-lora", "-m", str(base), "-l", f"{adapter}:{user_scale}",
          "-o", str(merged), "--type", "f32", "--progress", "none"])
    merged_gguf = GGUFFile(merged)
    for layer_index, layer in enumerate(reference.layers):
        for module, (suffix, attr) in TARGETS.items():
            want = getattr(layer, attr)
            got = quants.tensor(merged_gguf, f"blk.{layer_index}.{suffix}.weight")
            error = np.abs(got - want).max() / np.abs(want).max()
            assert error < 1e-5, f"blk.{layer_index}.{suffix}: merged weight off by {error:.2e}"

    # 2. Run-time adapters give the reference's logits.
    tokens = np.random.default_rng(seed).integers(0, reference.config.vocab_size, 12).tolist()
    out_path = tmp_path / "logits.f32"
    _run([_tool("llama3"), "eval-logits", "-m", str(base), "--lora", f"{adapter}:{user_scale}",
          "--tokens", " ".join(map(str, tokens)), "-o", str(out_path)])
    want = reference.forward(tokens)
    got = np.fromfile(out_path, dtype="<f4").reshape(want.shape).astype(np.float64)
    scale_std = max(1.0, float(want.std()))
    error = np.abs(got - want) / scale_std
    print(f"logit std {want.std():.3f}, max err {error.max():.2e}, mean err {error.mean():.2e}")
    assert error.max() <= 3e-3 and error.mean() <= 5e-4
    # The adapter must matter, or the comparison above proves nothing.
    base_logits = LlamaReference(base).forward(tokens)
    assert np.abs(base_logits - want).max() / scale_std > 0.05

    # 3. torchtune's adapter_model.pt of the same update: the same f32 values once loaded.
    if not rslora:  # torchtune's configs have no rsLoRA
        torchtune = tmp_path / "torchtune"
        write_torchtune_adapter(torchtune, pairs, rank, alpha, reference.config.head_dim)
        pt_path = tmp_path / "logits-pt.f32"
        _run([_tool("llama3"), "eval-logits", "-m", str(base), "--lora",
              f"{torchtune / 'adapter_model.pt'}:{user_scale}",
              "--tokens", " ".join(map(str, tokens)), "-o", str(pt_path)])
        assert np.array_equal(np.fromfile(pt_path, dtype="<f4"), np.fromfile(out_path, dtype="<f4"))
