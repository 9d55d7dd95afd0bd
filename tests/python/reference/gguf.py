"""A minimal GGUF v2/v3 reader (docs/facts.md §4), independent of the C++ reader.

It parses the header, every metadata value type (including nested arrays), the tensor infos, the
alignment and the data section, and hands out each tensor's raw bytes as a zero-copy view of a
``numpy.memmap``. Turning those bytes into numbers is the job of ``quants``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# Metadata value type ids (docs/facts.md §4).
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)

# Fixed-width scalar metadata types: struct format (little-endian).
_SCALAR_FORMATS = {
    UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i",
    FLOAT32: "<f", BOOL: "<?", UINT64: "<Q", INT64: "<q", FLOAT64: "<d",
}
# The same types as numpy dtypes, to read numeric arrays in one go.
_SCALAR_DTYPES = {
    UINT8: "<u1", INT8: "<i1", UINT16: "<u2", INT16: "<i2", UINT32: "<u4", INT32: "<i4",
    FLOAT32: "<f4", BOOL: "<u1", UINT64: "<u8", INT64: "<i8", FLOAT64: "<f8",
}

# ggml tensor type ids (docs/facts.md §4) -> name, and (values per block, bytes per block).
GGML_TYPE_NAMES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
    10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 30: "BF16",
}
GGML_BLOCK_SIZES = {
    "F32": (1, 4), "F16": (1, 2), "BF16": (1, 2),
    "Q4_0": (32, 18), "Q4_1": (32, 20), "Q5_0": (32, 22), "Q5_1": (32, 24), "Q8_0": (32, 34),
    "Q8_1": (32, 36), "Q2_K": (256, 84), "Q3_K": (256, 110), "Q4_K": (256, 144),
    "Q5_K": (256, 176), "Q6_K": (256, 210), "Q8_K": (256, 292),
}


class GGUFError(ValueError):
    """The file is not a GGUF this reader understands; the message says where and why."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's header entry. ``ne`` is innermost first, as in the file."""

    name: str
    ne: tuple[int, ...]
    type_name: str
    offset: int  # relative to the start of the data section

    @property
    def shape(self) -> tuple[int, ...]:
        """NumPy (row-major, outermost first) shape: the reverse of ``ne``."""
        return tuple(reversed(self.ne))

    @property
    def n_elements(self) -> int:
        return int(np.prod(self.ne, dtype=np.int64))

    @property
    def n_bytes(self) -> int:
        block, type_size = GGML_BLOCK_SIZES[self.type_name]
        if self.ne[0] % block:
            raise GGUFError(f"{self.name}: ne[0]={self.ne[0]} is not a multiple of the "
                            f"{self.type_name} block size {block}")
        return self.n_elements // block * type_size


class _Cursor:
    """Reads little-endian values from a byte buffer, remembering the position."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise GGUFError(f"truncated file: need {n} bytes at offset {self.pos}, "
                            f"file has {len(self.data)}")
        chunk = self.data[self.pos:self.pos + n].tobytes()
        self.pos += n
        return chunk

    def scalar(self, value_type: int) -> Any:
        fmt = _SCALAR_FORMATS[value_type]
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def u32(self) -> int:
        return self.scalar(UINT32)

    def u64(self) -> int:
        return self.scalar(UINT64)

    def string(self) -> str:
        return self.take(self.u64()).decode("utf-8")

    def value(self, value_type: int) -> Any:
        if value_type == STRING:
            return self.string()
        if value_type == ARRAY:
            elem_type, count = self.u32(), self.u64()
            if elem_type in _SCALAR_DTYPES:
                # Numeric arrays (token scores, types) can be long: read them in one go.
                dtype = np.dtype(_SCALAR_DTYPES[elem_type])
                raw = self.take(count * dtype.itemsize)
                array = np.frombuffer(raw, dtype=dtype)
                return array.astype(bool) if elem_type == BOOL else array
            return [self.value(elem_type) for _ in range(count)]
        if value_type in _SCALAR_FORMATS:
            return self.scalar(value_type)
        raise GGUFError(f"unknown metadata value type {value_type} at offset {self.pos}")


class GGUFFile:
    """A parsed GGUF file: ``metadata`` (key -> value), ``tensors`` (name -> TensorInfo).

    Tensor bytes stay on disk (memory-mapped) until ``raw_tensor`` or ``quants.tensor`` asks.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        cursor = _Cursor(self._map)
        if cursor.take(4) != GGUF_MAGIC:
            raise GGUFError(f"{self.path}: not a GGUF file (bad magic)")
        self.version = cursor.u32()
        if self.version not in (2, 3):
            raise GGUFError(f"{self.path}: GGUF version {self.version} unsupported (want 2 or 3)")
        n_tensors, n_kv = cursor.u64(), cursor.u64()

        self.metadata: dict[str, Any] = {}
        for _ in range(n_kv):
            key = cursor.string()
            self.metadata[key] = cursor.value(cursor.u32())

        self.tensors: dict[str, TensorInfo] = {}
        for _ in range(n_tensors):
            name = cursor.string()
            n_dims = cursor.u32()
            if not 1 <= n_dims <= 4:
                raise GGUFError(f"{name}: {n_dims} dims (want 1..4)")
            ne = tuple(cursor.u64() for _ in range(n_dims))
            type_id = cursor.u32()
            if type_id not in GGML_TYPE_NAMES:
                raise GGUFError(f"{name}: ggml type {type_id} unknown to this reader")
            self.tensors[name] = TensorInfo(name, ne, GGML_TYPE_NAMES[type_id], cursor.u64())

        self.alignment = int(self.metadata.get("general.alignment", DEFAULT_ALIGNMENT))
        if self.alignment <= 0 or self.alignment % 8 or self.alignment & (self.alignment - 1):
            raise GGUFError(f"general.alignment={self.alignment} is not a power of 2 multiple of 8")
        self.data_offset = align(cursor.pos, self.alignment)

        for info in self.tensors.values():
            if info.offset % self.alignment:
                raise GGUFError(f"{info.name}: offset {info.offset} not aligned to {self.alignment}")
            end = self.data_offset + info.offset + info.n_bytes
            if end > len(self._map):
                raise GGUFError(f"{info.name}: data ends at {end}, file has {len(self._map)} bytes")

    def raw_tensor(self, name: str) -> np.ndarray:
        """The tensor's bytes as a read-only uint8 view (no copy)."""
        if name not in self.tensors:
            raise KeyError(f"{self.path}: no tensor named {name!r}")
        info = self.tensors[name]
        start = self.data_offset + info.offset
        return self._map[start:start + info.n_bytes]


def align(offset: int, alignment: int) -> int:
    """Round ``offset`` up to a multiple of ``alignment`` (docs/facts.md §4 formula)."""
    return offset + (alignment - offset % alignment) % alignment
