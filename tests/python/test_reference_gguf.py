"""The reference GGUF reader on hand-built files: every metadata value type, tensor infos, alignment."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from reference import gguf as g
from reference.gguf_writer import write_gguf

pytestmark = pytest.mark.reference_selfcheck


def _s(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _kv(key: str, value_type: int, payload: bytes) -> bytes:
    return _s(key) + struct.pack("<I", value_type) + payload


def test_reader_decodes_every_metadata_type_and_custom_alignment(tmp_path: Path) -> None:
    kvs = [
        _kv("u8", g.UINT8, struct.pack("<B", 200)),
        _kv("i8", g.INT8, struct.pack("<b", -100)),
        _kv("u16", g.UINT16, struct.pack("<H", 60000)),
        _kv("i16", g.INT16, struct.pack("<h", -30000)),
        _kv("u32", g.UINT32, struct.pack("<I", 4_000_000_000)),
        _kv("i32", g.INT32, struct.pack("<i", -2_000_000_000)),
        _kv("f32", g.FLOAT32, struct.pack("<f", 0.5)),
        _kv("bool", g.BOOL, struct.pack("<?", True)),
        _kv("str", g.STRING, _s("héllo")),
        _kv("u64", g.UINT64, struct.pack("<Q", 2**63 + 5)),
        _kv("i64", g.INT64, struct.pack("<q", -(2**62))),
        _kv("f64", g.FLOAT64, struct.pack("<d", 1e-300)),
        _kv("arr_i32", g.ARRAY, struct.pack("<IQ", g.INT32, 3) + struct.pack("<3i", 1, -2, 3)),
        _kv("arr_str", g.ARRAY, struct.pack("<IQ", g.STRING, 2) + _s("a") + _s("▁b")),
        _kv("arr_nested", g.ARRAY, struct.pack("<IQ", g.ARRAY, 2)
            + struct.pack("<IQ", g.UINT8, 2) + bytes([7, 8])
            + struct.pack("<IQ", g.UINT8, 1) + bytes([9])),
        _kv("general.alignment", g.UINT32, struct.pack("<I", 64)),
    ]
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype="<f4")  # ne (3, 2)
    info = _s("w") + struct.pack("<I", 2) + struct.pack("<2Q", 3, 2) + struct.pack("<IQ", 0, 0)
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kvs)) + b"".join(kvs) + info
    padding = bytes(g.align(len(header), 64) - len(header))
    path = tmp_path / "all_types.gguf"
    path.write_bytes(header + padding + values.tobytes())

    f = g.GGUFFile(path)
    m = f.metadata
    assert (m["u8"], m["i8"], m["u16"], m["i16"]) == (200, -100, 60000, -30000)
    assert (m["u32"], m["i32"], m["u64"], m["i64"]) == (4_000_000_000, -2_000_000_000, 2**63 + 5,
                                                        -(2**62))
    assert m["f32"] == 0.5 and m["f64"] == 1e-300 and m["bool"] is True and m["str"] == "héllo"
    assert m["arr_i32"].tolist() == [1, -2, 3] and m["arr_str"] == ["a", "▁b"]
    assert [a.tolist() for a in m["arr_nested"]] == [[7, 8], [9]]
    assert f.alignment == 64 and f.data_offset == len(header) + len(padding)
    assert f.data_offset % 64 == 0
    t = f.tensors["w"]
    assert t.ne == (3, 2) and t.shape == (2, 3) and t.type_name == "F32"
    assert np.frombuffer(f.raw_tensor("w").tobytes(), "<f4").tolist() == values.tolist()


def test_writer_round_trips_through_reader(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    q8 = ("Q8_0", (32,), np.float16(1.0).tobytes() + np.arange(32, dtype=np.int8).tobytes())
    path = tmp_path / "rt.gguf"
    write_gguf(path, {"general.architecture": "llama", "k": 3, "x": 1.25, "names": ["p", "q"]},
               {"a": a, "b": b, "q": q8})
    f = g.GGUFFile(path)
    assert f.version == 3 and f.metadata["k"] == 3 and f.metadata["x"] == 1.25
    assert f.metadata["names"] == ["p", "q"]
    assert f.tensors["a"].shape == (4, 5) and f.tensors["q"].type_name == "Q8_0"
    from reference import quants
    np.testing.assert_array_equal(quants.tensor(f, "a"), a)
    np.testing.assert_array_equal(quants.tensor(f, "b"), b)
    np.testing.assert_array_equal(quants.tensor(f, "q"), np.arange(32))
    assert all(info.offset % 32 == 0 for info in f.tensors.values())


@pytest.mark.parametrize("mutation,message", [
    (lambda d: b"GGUX" + d[4:], "bad magic"),
    (lambda d: d[:4] + struct.pack("<I", 1) + d[8:], "version 1"),
    (lambda d: d[:-1], "data ends"),
])
def test_reader_rejects_malformed_files(tmp_path: Path, mutation, message: str) -> None:
    path = tmp_path / "ok.gguf"
    write_gguf(path, {"k": 1}, {"w": np.ones(8, np.float32)})
    path.write_bytes(mutation(path.read_bytes()))
    with pytest.raises(g.GGUFError, match=message):
        g.GGUFFile(path)
