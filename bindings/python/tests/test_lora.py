"""llama3.LoraAdapter, Session.set_adapters and llama3.merge_lora over the tiny random model."""
import json
import struct

import numpy as np
import pytest

import llama3
from hostile_input import hostile_input

# The tiny test model's shapes (make_test_model --shape tiny): dim 256, 8 query heads and 2 KV
# heads of 32, feed-forward 512, 2 layers.
SHAPES = {"self_attn.q_proj": (256, 256), "self_attn.k_proj": (64, 256),
          "self_attn.v_proj": (64, 256), "self_attn.o_proj": (256, 256),
          "mlp.gate_proj": (512, 256), "mlp.up_proj": (512, 256), "mlp.down_proj": (256, 512)}


def write_adapter(folder, rank=8, alpha=16, poison=False):
    rng = np.random.default_rng(rank)
    tensors = {}
    for layer in range(2):
        for module, (out, inp) in SHAPES.items():
            prefix = f"base_model.model.model.layers.{layer}.{module}"
            tensors[prefix + ".lora_A.weight"] = rng.uniform(-1, 1, (rank, inp)) / np.sqrt(inp)
            tensors[prefix + ".lora_B.weight"] = rng.uniform(-0.1, 0.1, (out, rank))
    if poison:
        tensors["base_model.model.model.layers.1.mlp.up_proj.lora_B.weight"][3, 2] = np.nan
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        data = value.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    folder.mkdir()
    (folder / "adapter_model.safetensors").write_bytes(
        struct.pack("<Q", len(text)) + text + b"".join(blobs))
    (folder / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": rank, "lora_alpha": alpha,
         "target_modules": [m.split(".")[1] for m in SHAPES]}))
    return folder


def logits(session, ids):
    session.reset()
    return np.array(session.decode(ids))


def test_adapters_change_logits_and_scale_zero_is_the_base(tiny_path, tmp_path):
    model = llama3.Model(tiny_path)
    adapter = llama3.LoraAdapter.load(model, write_adapter(tmp_path / "adapter"))
    assert adapter.rank == 8 and adapter.scale == pytest.approx(2.0)
    assert adapter.targets == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                               "down_proj"]
    session = model.session(n_ctx=16)
    ids = [1, 5, 9, 200]
    base = logits(session, ids)
    session.set_adapters([(adapter, 0.0)])
    assert np.array_equal(logits(session, ids), base)
    session.set_adapters([adapter])
    with_adapter = logits(session, ids)
    assert np.abs(with_adapter - base).max() > 0.1
    session.set_adapters([])
    assert np.array_equal(logits(session, ids), base)

    merged = tmp_path / "merged.gguf"
    summary = llama3.merge_lora(tiny_path, [(str(tmp_path / "adapter"), 1.0)], merged, type="f32")
    assert summary["types"]
    merged_logits = logits(llama3.Model(merged).session(n_ctx=16), ids)
    # The base is Q8_0: at run time its kernels round activations to 8 bits, the merged f32 file
    # does not; the two agree to that rounding, far closer than to the base.
    spread = max(1.0, float(base.std()))
    assert np.abs(merged_logits - with_adapter).max() / spread < 0.1
    assert np.abs(base - with_adapter).max() / spread > 0.3


def test_a_bad_adapter_raises_naming_the_tensor(tiny_path, tmp_path):
    model = llama3.Model(tiny_path)
    with hostile_input("lora_adapter", llama3.BadFormatError,
                       match="layers.1.mlp.up_proj.lora_B.weight"):
        llama3.LoraAdapter.load(model, write_adapter(tmp_path / "bad", poison=True))
    with hostile_input("lora_adapter", llama3.IoError):
        llama3.LoraAdapter.load(model, tmp_path / "missing")
    adapter = llama3.LoraAdapter.load(model, write_adapter(tmp_path / "good"))
    with hostile_input("python_api", llama3.InvalidArgumentError):
        model.session(n_ctx=8).set_adapters([(adapter, float("nan"))])
