"""Our GGUF files, quantizers and dequantizers against gguf-py (PyPI ``gguf``, llama.cpp's own Python
package, pinned in scripts/requirements-test.txt).

- Every GGUF file we write (make_test_model, ``llama3 quantize``) reads back with
  ``gguf.GGUFReader``, and a rewrite through our reader and writer keeps gguf-py's view of every
  metadata value and tensor.
- For each type whose quantizer gguf-py implements, our quantized bytes equal ``gguf.quants.quantize``
  bit for bit, on random rows and on rows chosen to hit the rounding edges.
- For every type we support (K-quants included), our dequantization equals
  ``gguf.quants.dequantize``, on our own quantized rows and on random block bytes.

Our side is reached through the command-line tool: ``llama3 quantize IN OUT TYPE`` runs our quantizer,
and ``llama3 quantize IN OUT f32`` runs our dequantizer over an already quantized file.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf import GGMLQuantizationType as T  # noqa: E402
from gguf import GGUFReader, GGUFWriter, quants  # noqa: E402

from conftest import bin_dir  # noqa: E402

# Our `llama3 quantize` type names and the ggml types they write.
OUR_TYPES = {
    "q8_0": T.Q8_0, "q4_0": T.Q4_0, "q4_1": T.Q4_1, "q5_0": T.Q5_0, "q5_1": T.Q5_1,
    "q4_k": T.Q4_K, "q5_k": T.Q5_K, "q6_k": T.Q6_K, "f16": T.F16, "bf16": T.BF16,
}
# Byte offsets of the f16 scale fields in one block (the rest of a random block is any bytes).
F16_FIELDS = {
    T.Q8_0: (0,), T.Q4_0: (0,), T.Q4_1: (0, 2), T.Q5_0: (0,), T.Q5_1: (0, 2),
    T.Q4_K: (0, 2), T.Q5_K: (0, 2), T.Q6_K: (208,),
}
SEED = 20241203
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # gguf-py divides by zero scales


def tool(name: str) -> Path:
    path = bin_dir() / name
    if not path.is_file():
        pytest.skip(f"needs {path} (build the {name} target)")
    return path


def run(*args: object) -> None:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{args}: {result.stderr}"


def quantize(src: Path, dst: Path, type_name: str) -> GGUFReader:
    run(tool("llama3"), "quantize", src, dst, type_name)
    return GGUFReader(dst)


def gguf_py_implements_quantize(qtype: T) -> bool:
    try:
        quants.quantize(np.zeros((1, 256), np.float32), qtype)
    except NotImplementedError:
        return False
    return True


def metadata(reader: GGUFReader) -> dict[str, tuple]:
    """Every key with its value types and decoded value, as gguf-py sees them."""
    out = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        value = field.contents()
        out[key] = (tuple(field.types), value)
    return out


def tensors(reader: GGUFReader) -> dict[str, tuple]:
    return {t.name: (t.tensor_type, tuple(int(d) for d in t.shape), np.asarray(t.data))
            for t in reader.tensors}


def edge_rows(width: int = 256) -> np.ndarray:
    """Rows aimed at the quantizers' rounding, scaling and sign choices."""
    rng = np.random.default_rng(SEED)
    rows = [
        np.zeros(width),                                        # all zero: scale 0
        np.full(width, 3.0),                                    # constant
        np.full(width, -3.0),
        np.tile([-8.0, 7.0, 0.5, -0.5, 1.5, -1.5, 2.5, 3.5], width // 8),  # .5 ties
        np.arange(width) % 32 - 16.0,                           # integers on the grid
        np.where(np.arange(width) % 32 == 5, -100.0, 0.01),     # negative max magnitude
        np.where(np.arange(width) % 32 == 7, 100.0, -0.01),     # positive max magnitude
        rng.standard_normal(width) * 1e-6,                      # tiny
        rng.standard_normal(width) * 1e4,                       # large
        rng.standard_normal(width) * 1e-38,                     # f16-subnormal scales
        rng.uniform(0.0, 1.0, width),                           # all positive (min > 0)
        rng.uniform(-1.0, 0.0, width),                          # all negative
        rng.standard_t(2, width),                               # heavy tails
    ]
    rows += [rng.standard_normal(width) * rng.uniform(0.01, 10) for _ in range(51)]
    return np.stack(rows).astype(np.float32)


@pytest.fixture(scope="module")
def edge_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GGUF written by gguf-py holding the edge rows as one 2-D F32 weight."""
    path = tmp_path_factory.mktemp("gguf_py") / "edges.gguf"
    writer = GGUFWriter(path, "llama")
    writer.add_block_count(1)
    writer.add_tensor("blk.0.ffn_up.weight", edge_rows())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gguf_py") / "tiny_f32.gguf"
    run(tool("make_test_model"), "--out", path, "--type", "f32", "--shape", "tiny", "--vocab", "none")
    return path


def test_files_we_write_read_back_with_gguf_py(tiny_model: Path, tmp_path: Path) -> None:
    source = GGUFReader(tiny_model)
    assert len(source.tensors) > 0 and "general.architecture" in source.fields
    # An F32 -> F32 rewrite goes through our reader and writer only: gguf-py must see the same file.
    same = quantize(tiny_model, tmp_path / "same.gguf", "f32")
    assert metadata(same) == metadata(source)
    src_tensors, same_tensors = tensors(source), tensors(same)
    assert list(same_tensors) == list(src_tensors)
    for name, (qtype, shape, data) in src_tensors.items():
        assert same_tensors[name][:2] == (qtype, shape), name
        assert np.array_equal(same_tensors[name][2], data), name
    # Every output type: same keys and values except the file type, same names and shapes.
    expected = metadata(source)
    expected.pop("general.file_type", None)
    for type_name, qtype in OUR_TYPES.items():
        out = quantize(tiny_model, tmp_path / f"{type_name}.gguf", type_name)
        got = metadata(out)
        got.pop("general.file_type", None)
        assert got == expected, type_name
        for t in out.tensors:
            src = src_tensors[t.name]
            assert tuple(int(d) for d in t.shape) == src[1], t.name
            assert t.tensor_type == (qtype if len(src[1]) == 2 else T.F32), t.name


def test_metadata_of_every_type_written_by_gguf_py_survives_our_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "kinds.gguf"
    writer = GGUFWriter(path, "llama")
    writer.add_block_count(1)
    writer.add_uint8("test.u8", 250)
    writer.add_int8("test.i8", -120)
    writer.add_uint16("test.u16", 65000)
    writer.add_int16("test.i16", -32000)
    writer.add_uint32("test.u32", 4_000_000_000)
    writer.add_int32("test.i32", -2_000_000_000)
    writer.add_uint64("test.u64", 2**63 + 5)
    writer.add_int64("test.i64", -(2**62))
    writer.add_float32("test.f32", 1.25)
    writer.add_float64("test.f64", -1e300)
    writer.add_bool("test.bool", True)
    writer.add_string("test.str", "naïve 日本 🦙")
    writer.add_array("test.arr_i32", [1, -2, 3])
    writer.add_array("test.arr_str", ["a", "", "ü"])
    writer.add_array("test.arr_f32", [0.5, -0.25])
    rng = np.random.default_rng(SEED)
    writer.add_tensor("blk.0.ffn_up.weight", rng.standard_normal((4, 64)).astype(np.float32))
    writer.add_tensor("blk.0.attn_norm.weight", rng.standard_normal(64).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    original = GGUFReader(path)
    ours = quantize(path, tmp_path / "rewritten.gguf", "f32")
    rewritten = metadata(ours)
    # quantize states the file type (and the quantization version) of what it wrote
    assert rewritten.pop("general.file_type")[1] == 0
    assert rewritten.pop("general.quantization_version")[1] == 2
    assert rewritten == metadata(original)
    for name, (qtype, shape, data) in tensors(original).items():
        got = tensors(ours)[name]
        assert got[:2] == (qtype, shape) and np.array_equal(got[2], data), name


def bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(np.asarray(a, np.float32).view(np.uint32), np.asarray(b, np.float32).view(np.uint32))


@pytest.mark.parametrize("type_name", list(OUR_TYPES))
def test_our_quantizer_is_bit_exact_with_gguf_py(type_name: str, edge_file: Path,
                                                 tiny_model: Path, tmp_path: Path) -> None:
    """Bit-exact, block by block, with one documented exception (docs/quant-formats.md): when
    ggml's block does not give the input back bit for bit and another block does, ours is that
    other block. So a block may differ only if gguf-py's does not reproduce the input and ours does;
    on ordinary (random) data no block may differ at all."""
    qtype = OUR_TYPES[type_name]
    if not gguf_py_implements_quantize(qtype):
        pytest.skip(f"gguf-py has no quantizer for {qtype.name} (its dequantizer is checked below)")
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if block_size == 1:  # F16, BF16: compare in runs of 256 values (gguf-py is slow on 1-value rows)
        block_size, type_size = 256, 256 * type_size
    for source in (edge_file, tiny_model):
        originals = tensors(GGUFReader(source))
        out = quantize(source, tmp_path / f"{source.stem}_{type_name}.gguf", type_name)
        compared = 0
        for t in out.tensors:
            if t.tensor_type != qtype:
                continue
            x = originals[t.name][2].astype(np.float32).reshape(-1, block_size)
            expected = quants.quantize(x, qtype).view(np.uint8).reshape(-1, type_size)
            ours = np.asarray(t.data).view(np.uint8).reshape(-1, type_size)
            compared += len(ours)
            differ = np.flatnonzero(np.any(expected != ours, axis=1))
            if differ.size == 0:
                continue
            where = f"{source.name} {t.name} blocks {differ[:8].tolist()}"
            assert source == edge_file, f"ordinary data differs from gguf-py at {where}"
            x_bits = x[differ].view(np.uint32)
            theirs_exact = np.all(
                quants.dequantize(expected[differ], qtype).reshape(x_bits.shape).view(np.uint32)
                == x_bits, axis=1)
            ours_exact = np.all(
                quants.dequantize(ours[differ], qtype).reshape(x_bits.shape).view(np.uint32)
                == x_bits, axis=1)
            assert not np.any(theirs_exact), f"{where}: gguf-py's block was exact already"
            assert np.all(ours_exact), f"{where}: ours differs without being exact"
            print(f"{type_name}: {differ.size} edge blocks differ, each exact only in ours")
        assert compared > 0


def random_blocks(qtype: T, n_blocks: int, rng: np.random.Generator) -> np.ndarray:
    """Random block bytes whose f16 scales are finite (any other bit pattern is fair game)."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for offset in F16_FIELDS[qtype]:
        scales = (rng.standard_normal(n_blocks) * rng.choice([1e-4, 1e-2, 1.0, 100.0])).astype(np.float16)
        raw[:, offset:offset + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(-1)


@pytest.mark.parametrize("type_name", [n for n, t in OUR_TYPES.items() if t in F16_FIELDS])
def test_our_dequantizer_agrees_with_gguf_py_on_random_blocks(type_name: str, tmp_path: Path) -> None:
    qtype = OUR_TYPES[type_name]
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    rng = np.random.default_rng(SEED)
    rows, blocks_per_row = 16, 1024 // block_size
    raw = random_blocks(qtype, rows * blocks_per_row, rng).reshape(rows, blocks_per_row * type_size)
    path = tmp_path / f"random_{type_name}.gguf"
    writer = GGUFWriter(path, "llama")
    writer.add_block_count(1)
    writer.add_tensor("blk.0.ffn_up.weight", raw, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    stored = GGUFReader(path).tensors[0]
    assert stored.tensor_type == qtype and tuple(int(d) for d in stored.shape) == (1024, rows)
    ours = tensors(quantize(path, tmp_path / "dequantized.gguf", "f32"))["blk.0.ffn_up.weight"][2]
    expected = quants.dequantize(raw, qtype)
    assert ours.shape == expected.shape
    assert bits_equal(ours, expected), \
        f"max |diff| {np.max(np.abs(ours - expected))} in {np.count_nonzero(ours != expected)} values"


@pytest.mark.parametrize("type_name", list(OUR_TYPES))
def test_our_dequantizer_agrees_with_gguf_py_on_our_quantized_rows(type_name: str, edge_file: Path,
                                                                   tmp_path: Path) -> None:
    qtype = OUR_TYPES[type_name]
    quantized = quantize(edge_file, tmp_path / f"edges_{type_name}.gguf", type_name)
    packed = {t.name: (t.tensor_type, np.asarray(t.data)) for t in quantized.tensors}
    ours = tensors(quantize(tmp_path / f"edges_{type_name}.gguf", tmp_path / "back.gguf", "f32"))
    assert packed["blk.0.ffn_up.weight"][0] == qtype
    for name, (stored_type, data) in packed.items():
        if stored_type in (T.F32, T.F16):
            expected = data.astype(np.float32)
        else:
            expected = quants.dequantize(data, stored_type)
        assert bits_equal(ours[name][2], expected.reshape(ours[name][2].shape)), name
