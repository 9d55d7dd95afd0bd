"""A small GGUF v3 writer, so reference self-tests can build models without the C++ tools.

Supports the metadata types the tests need (ints, floats, strings, bools, arrays of those) and
tensors given either as float32 arrays (stored F32) or as raw quantized bytes with a type name.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

from . import gguf as g

_TYPE_IDS = {name: type_id for type_id, name in g.GGML_TYPE_NAMES.items()}


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def _typed_value(value: Any) -> tuple[int, bytes]:
    """(metadata value type, encoded value) for a Python value."""
    if isinstance(value, bool):
        return g.BOOL, struct.pack("<?", value)
    if isinstance(value, (int, np.integer)):
        return (g.UINT32, struct.pack("<I", value)) if 0 <= value < 2**32 else \
               (g.INT64, struct.pack("<q", value))
    if isinstance(value, (float, np.floating)):
        return g.FLOAT32, struct.pack("<f", value)
    if isinstance(value, str):
        return g.STRING, _string(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [_typed_value(v) for v in value]
        elem_type = items[0][0] if items else g.INT32
        if any(t != elem_type for t, _ in items):
            raise TypeError("GGUF arrays must hold one element type")
        body = b"".join(encoded for _, encoded in items)
        return g.ARRAY, struct.pack("<IQ", elem_type, len(items)) + body
    raise TypeError(f"cannot store {type(value).__name__} in GGUF metadata")


def write_gguf(path: str | Path, metadata: dict[str, Any],
               tensors: dict[str, np.ndarray | tuple[str, tuple[int, ...], bytes]],
               alignment: int = g.DEFAULT_ALIGNMENT) -> None:
    """Write ``tensors`` (name -> float array in NumPy shape, or (type name, ne, raw bytes))."""
    header = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)))
    for key, value in metadata.items():
        value_type, encoded = _typed_value(value)
        header += _string(key) + struct.pack("<I", value_type) + encoded

    blobs: list[bytes] = []
    offset = 0
    for name, spec in tensors.items():
        if isinstance(spec, tuple):
            type_name, ne, data = spec
        else:
            array = np.ascontiguousarray(spec, dtype="<f4")
            type_name, ne, data = "F32", tuple(reversed(array.shape)), array.tobytes()
        header += _string(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
        header += struct.pack("<IQ", _TYPE_IDS[type_name], offset)
        padded = data + bytes(g.align(len(data), alignment) - len(data))
        blobs.append(padded)
        offset += len(padded)

    header += bytes(g.align(len(header), alignment) - len(header))
    Path(path).write_bytes(bytes(header) + b"".join(blobs))
