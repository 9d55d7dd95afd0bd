"""Our forward pass against Hugging Face transformers' ``LlamaForCausalLM``, the implementation
the field treats as ground truth.

For each configuration that matters for Llama 3 — 3.0 (plain RoPE, theta 500000), 3.1 (the
"llama3" RoPE scaling), 3.2 (tied embeddings, scaling factor 32) and GQA ratios 1, 4 and 8 — a
small model gets random weights, is written with ``save_pretrained`` (safetensors, float32), and
its logits for a seeded token list are computed by transformers in float64. Our library then
loads the same model three ways — the HF folder itself, and ``llama3 convert`` to GGUF f32 and
f16 — and ``llama3 eval-logits`` writes its float32 logits.

Tolerances are docs/testing-reference.md's: error = |ours - transformers| / max(1, std of the
reference logits), max and mean bounded per weight type (F32 3e-3 / 5e-4, F16 6e-3 / 1.2e-3).
The weights have the scale of make_test_model's (on which the tolerances were derived), with an
output matrix large enough that the logits' std is well above 1, so the bound is relative to real
logit movement, not absorbed by the max(1, .) floor. The rope
scaling is made visible in 64 tokens by a small original_max_position_embeddings (32): the
negative control checks that ignoring the scaling would fail the bound by far.

Run it with ``ctest -L torch`` after configuring with -DLLAMA3_TORCH_TESTS=ON (it installs
scripts/requirements-torch.txt into build/venv-torch first).
"""
from __future__ import annotations

import copy
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from conftest import bin_dir  # noqa: E402

N_TOKENS = 64
N_VOCAB = 512
HIDDEN = 128
N_HEADS = 8  # head_dim 16
OUTPUT_GAIN = 3.0  # the output matrix's std is this over sqrt(hidden): logits of std ~3


@dataclass(frozen=True)
class Tolerance:
    max_error: float
    mean_error: float


TOLERANCES = {"f32": Tolerance(3e-3, 5e-4), "f16": Tolerance(6e-3, 1.2e-3)}

LLAMA31_SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 32}
LLAMA32_SCALING = dict(LLAMA31_SCALING, factor=32.0)

# name -> LlamaConfig fields beyond the shared ones.
CONFIGS = {
    "llama3.0-gqa4": {"num_key_value_heads": 2},
    "llama3.1-rope-scaling-gqa4": {"num_key_value_heads": 2, "rope_scaling": LLAMA31_SCALING,
                                   "max_position_embeddings": 131072},
    "llama3.2-tied-gqa4": {"num_key_value_heads": 2, "rope_scaling": LLAMA32_SCALING,
                           "tie_word_embeddings": True, "max_position_embeddings": 131072},
    "gqa1-mha": {"num_key_value_heads": 8},
    "gqa8": {"num_key_value_heads": 1},
}


def _config(fields: dict) -> "transformers.LlamaConfig":
    base = {"vocab_size": N_VOCAB, "hidden_size": HIDDEN, "intermediate_size": 320,
            "num_hidden_layers": 2, "num_attention_heads": N_HEADS, "rms_norm_eps": 1e-5,
            "rope_theta": 500000.0, "max_position_embeddings": 8192, "bos_token_id": 0,
            "eos_token_id": 1, "tie_word_embeddings": False, "hidden_act": "silu",
            "attention_bias": False, "mlp_bias": False, "torch_dtype": "float32"}
    base.update(fields)
    return transformers.LlamaConfig(**base)


def _random_model(config, seed: int):
    """Weights of the scale make_test_model uses (the scale the tolerances were derived on):
    matrices N(0, 1/sqrt(inputs)), so activations keep their size; norms near 1; the output matrix
    (the embedding when tied) OUTPUT_GAIN times larger, so the logits' std is well above 1."""
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(config)
    output = "model.embed_tokens.weight" if config.tie_word_embeddings else "lm_head.weight"
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            fan_in = parameter.shape[-1]
            if name.endswith("norm.weight"):
                parameter.copy_(1.0 + 0.1 * torch.randn_like(parameter))
            elif name == output:
                parameter.normal_(0.0, OUTPUT_GAIN / fan_in ** 0.5)
            else:
                parameter.normal_(0.0, 1.0 / fan_in ** 0.5)
    return model.eval()


def _reference_logits(model, tokens: np.ndarray) -> np.ndarray:
    """transformers' logits [n_tokens, n_vocab] in float64."""
    exact = copy.deepcopy(model).double()
    with torch.no_grad():
        out = exact(torch.tensor(tokens[None, :], dtype=torch.long), use_cache=False)
    return out.logits[0].numpy()


def _run(args: list[str]) -> None:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} exited {result.returncode}:\n"
                    f"{result.stderr}{result.stdout}")


def _tool() -> Path:
    path = bin_dir() / "llama3"
    if not path.is_file():
        pytest.fail(f"{path} is missing: build the project or set LLAMA3_BIN_DIR")
    return path


def _our_logits(model_path: Path, tokens: np.ndarray, out: Path) -> np.ndarray:
    _run([_tool(), "eval-logits", "-m", model_path, "--tokens", " ".join(map(str, tokens)),
          "-o", out, "-t", "2"])
    return np.fromfile(out, dtype=np.float32).reshape(len(tokens), N_VOCAB).astype(np.float64)


def _errors(ours: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    scale = max(1.0, float(reference.std()))
    diff = np.abs(ours - reference) / scale
    return float(diff.max()), float(diff.mean())


FIGURES: dict[str, dict] = {}


@pytest.fixture(scope="module")
def figures_report():
    yield FIGURES
    # One line per case, for docs/testing-reference.md.
    print("\n" + json.dumps(FIGURES, indent=1))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_logits_match_transformers(name: str, tmp_path: Path, figures_report) -> None:
    fields = CONFIGS[name]
    seed = 1000 + list(CONFIGS).index(name)
    print(f"config {name}, seed {seed}")
    model = _random_model(_config(fields), seed)
    folder = tmp_path / "hf"
    model.save_pretrained(folder, safe_serialization=True)
    tokens = np.random.default_rng(seed).integers(0, N_VOCAB, size=N_TOKENS)
    reference = _reference_logits(model, tokens)
    assert reference.std() > 1.0, "the logits must be large enough for the bound to mean something"

    loaded = {"hf-folder": (folder, "f32")}
    for weight_type in ("f32", "f16"):
        gguf = tmp_path / f"model-{weight_type}.gguf"
        _run([_tool(), "convert", folder, "-o", gguf, "--type", weight_type])
        loaded[f"gguf-{weight_type}"] = (gguf, weight_type)

    for how, (path, weight_type) in loaded.items():
        ours = _our_logits(path, tokens, tmp_path / f"logits-{how}.bin")
        max_error, mean_error = _errors(ours, reference)
        agree = float((ours.argmax(-1) == reference.argmax(-1)).mean())
        FIGURES[f"{name} {how}"] = {"max": max_error, "mean": mean_error, "argmax": agree,
                                    "std": float(reference.std())}
        print(f"{name} {how}: max {max_error:.2e} mean {mean_error:.2e} argmax {agree:.2f}")
        bound = TOLERANCES[weight_type]
        assert max_error <= bound.max_error, f"{how}: max error {max_error:.3e}"
        assert mean_error <= bound.mean_error, f"{how}: mean error {mean_error:.3e}"
        # The argmax agrees wherever the reference's top-2 margin exceeds twice the bound.
        top2 = np.sort(reference, axis=-1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) / max(1.0, float(reference.std())) > 2 * bound.max_error
        assert (ours.argmax(-1) == reference.argmax(-1))[clear].all()

    if "rope_scaling" in fields:
        # Negative control: the same weights without the scaling give logits our result must not
        # match, so passing above really checked the scaling.
        unscaled = _config({k: v for k, v in fields.items() if k != "rope_scaling"})
        plain = transformers.LlamaForCausalLM(unscaled)
        plain.load_state_dict(model.state_dict())
        ours = _our_logits(loaded["hf-folder"][0], tokens, tmp_path / "logits-control.bin")
        control_max, _ = _errors(ours, _reference_logits(plain.eval(), tokens))
        FIGURES[f"{name} control-without-scaling"] = {"max": control_max}
        print(f"{name}: without the scaling the max error would be {control_max:.2e}")
        assert control_max > 30 * TOLERANCES["f32"].max_error
