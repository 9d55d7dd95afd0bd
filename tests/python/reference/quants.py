"""Dequantize ggml tensor formats to float64 (docs/facts.md §4 "Quant block layouts").

Each dequantizer takes the raw bytes of a whole tensor, views them as ``[n_blocks, type_size]``
and decodes every block at once with array arithmetic: no Python loop runs per block, so a
1B-shaped tensor dequantizes in a fraction of a second. Scales are widened to float64 before
the multiply, so the result is the exact value each block encodes.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .gguf import GGML_BLOCK_SIZES, GGUFFile

QK_K = 256


def _blocks(raw: np.ndarray, type_name: str) -> np.ndarray:
    """View raw bytes as ``[n_blocks, type_size]`` uint8 (one row per block)."""
    _, type_size = GGML_BLOCK_SIZES[type_name]
    raw = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1)
    if raw.size % type_size:
        raise ValueError(f"{type_name}: {raw.size} bytes is not a whole number of "
                         f"{type_size}-byte blocks")
    return raw.reshape(-1, type_size)


def _f16(blocks: np.ndarray, start: int, count: int = 1) -> np.ndarray:
    """Little-endian fp16 fields at byte ``start`` of every block -> float64 ``[n_blocks, count]``."""
    field = np.ascontiguousarray(blocks[:, start:start + 2 * count])
    return field.view("<f2").astype(np.float64)


def _u32(blocks: np.ndarray, start: int) -> np.ndarray:
    """A little-endian u32 at byte ``start`` of every block -> ``[n_blocks, 1]`` uint32."""
    return np.ascontiguousarray(blocks[:, start:start + 4]).view("<u4")


def _nibbles_split(qs: np.ndarray) -> np.ndarray:
    """``[n, 16]`` bytes -> ``[n, 32]`` values: low nibbles first, then high nibbles."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1)


def _five_bit_high(qh: np.ndarray) -> np.ndarray:
    """Q5_0/Q5_1 fifth bit of element j (0..31) is bit j of the u32 ``qh``; returns 0 or 16."""
    bits = (qh >> np.arange(32, dtype=np.uint32)) & 1  # [n, 32]
    return (bits << 4).astype(np.uint8)


def dequant_f32(raw: np.ndarray) -> np.ndarray:
    return np.frombuffer(np.ascontiguousarray(raw).tobytes(), dtype="<f4").astype(np.float64)


def dequant_f16(raw: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(raw).view("<f2").astype(np.float64)


def dequant_bf16(raw: np.ndarray) -> np.ndarray:
    """bf16 is the top half of an f32: f32 bits = bf16 << 16."""
    halves = np.ascontiguousarray(raw).view("<u2").astype(np.uint32)
    return (halves << 16).view("<f4").astype(np.float64)


def dequant_q8_0(raw: np.ndarray) -> np.ndarray:
    """Block: d (f16), int8 qs[32]. y = qs * d."""
    b = _blocks(raw, "Q8_0")
    qs = np.ascontiguousarray(b[:, 2:34]).view(np.int8)
    return (qs * _f16(b, 0)).reshape(-1)


def dequant_q4_0(raw: np.ndarray) -> np.ndarray:
    """Block: d, qs[16]. y[j] = (lo(qs[j]) - 8)*d, y[j+16] = (hi(qs[j]) - 8)*d."""
    b = _blocks(raw, "Q4_0")
    q = _nibbles_split(b[:, 2:18]).astype(np.int16) - 8
    return (q * _f16(b, 0)).reshape(-1)


def dequant_q4_1(raw: np.ndarray) -> np.ndarray:
    """Block: d, m, qs[16]. y = nibble*d + m (same nibble order as Q4_0)."""
    b = _blocks(raw, "Q4_1")
    d, m = _f16(b, 0), _f16(b, 2)
    return (_nibbles_split(b[:, 4:20]) * d + m).reshape(-1)


def dequant_q5_0(raw: np.ndarray) -> np.ndarray:
    """Block: d, qh (u32), qs[16]. y = ((nibble | hbit) - 16)*d, hbit of element j is bit j of qh."""
    b = _blocks(raw, "Q5_0")
    q = (_nibbles_split(b[:, 6:22]) | _five_bit_high(_u32(b, 2))).astype(np.int16) - 16
    return (q * _f16(b, 0)).reshape(-1)


def dequant_q5_1(raw: np.ndarray) -> np.ndarray:
    """Block: d, m, qh (u32), qs[16]. y = (nibble | hbit)*d + m."""
    b = _blocks(raw, "Q5_1")
    q = _nibbles_split(b[:, 8:24]) | _five_bit_high(_u32(b, 4))
    return (q * _f16(b, 0) + _f16(b, 2)).reshape(-1)


def k_scales_mins(scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unpack Q4_K/Q5_K ``scales[12]`` into 8 six-bit scales and 8 six-bit mins (get_scale_min_k4).

    ``scales`` is ``[n, 12]`` uint8; returns two ``[n, 8]`` int arrays.
    """
    s = scales.astype(np.int32)
    sc = np.empty((s.shape[0], 8), dtype=np.int32)
    mn = np.empty_like(sc)
    sc[:, :4] = s[:, 0:4] & 63
    mn[:, :4] = s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)
    mn[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, mn


def _k_quant_nibbles(qs: np.ndarray) -> np.ndarray:
    """Q4_K/Q5_K ``qs[128]`` -> ``[n, 8, 32]``: chunk c's low nibbles are sub-block 2c, high 2c+1."""
    chunks = qs.reshape(-1, 4, 32)
    return np.stack([chunks & 0x0F, chunks >> 4], axis=2).reshape(-1, 8, 32)


def dequant_q4_k(raw: np.ndarray) -> np.ndarray:
    """Block: d, dmin, scales[12], qs[128]. y = d*sc*q - dmin*m per 32-value sub-block."""
    b = _blocks(raw, "Q4_K")
    d, dmin = _f16(b, 0)[:, :, None], _f16(b, 2)[:, :, None]
    sc, mn = k_scales_mins(b[:, 4:16])
    q = _k_quant_nibbles(b[:, 16:144])
    return (d * sc[:, :, None] * q - dmin * mn[:, :, None]).reshape(-1)


def dequant_q5_k(raw: np.ndarray) -> np.ndarray:
    """Block: d, dmin, scales[12], qh[32], qs[128]. Sub-block s, element l gets +16 if bit s of qh[l]."""
    b = _blocks(raw, "Q5_K")
    d, dmin = _f16(b, 0)[:, :, None], _f16(b, 2)[:, :, None]
    sc, mn = k_scales_mins(b[:, 4:16])
    qh = b[:, 16:48]  # [n, 32]
    high = ((qh[:, None, :] >> np.arange(8, dtype=np.uint8)[None, :, None]) & 1) << 4  # [n, 8, 32]
    q = _k_quant_nibbles(b[:, 48:176]) + high
    return (d * sc[:, :, None] * q - dmin * mn[:, :, None]).reshape(-1)


def dequant_q6_k(raw: np.ndarray) -> np.ndarray:
    """Block: ql[128], qh[64], int8 scales[16], d. Two halves of 128 values, four quarters of 32.

    In half h, quarter k, element l (0..31): the low 4 bits come from ql[64h + l + 32*(k&1)]
    (low nibble for k<2, high nibble for k>=2), the top 2 bits are (qh[32h + l] >> 2k) & 3,
    q -= 32, and the scale is scales[8h + 2k + l//16].
    """
    b = _blocks(raw, "Q6_K")
    ql = b[:, 0:128].reshape(-1, 2, 2, 32)  # [n, half, ql half (l or l+32), l]
    qh = b[:, 128:192].reshape(-1, 2, 32)  # [n, half, l]
    low = np.stack([ql[:, :, 0] & 0x0F, ql[:, :, 1] & 0x0F, ql[:, :, 0] >> 4, ql[:, :, 1] >> 4],
                   axis=2)  # [n, half, quarter, l]
    high = (qh[:, :, None, :] >> (2 * np.arange(4, dtype=np.uint8))[None, None, :, None]) & 3
    q = (low | (high << 4)).astype(np.int16) - 32  # [n, 2, 4, 32]
    scales = np.ascontiguousarray(b[:, 192:208]).view(np.int8).reshape(-1, 2, 4, 2, 1)
    d = _f16(b, 208).reshape(-1, 1, 1, 1, 1)
    return (d * scales * q.reshape(-1, 2, 4, 2, 16)).reshape(-1)


DEQUANTIZERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "F32": dequant_f32, "F16": dequant_f16, "BF16": dequant_bf16,
    "Q8_0": dequant_q8_0, "Q4_0": dequant_q4_0, "Q4_1": dequant_q4_1,
    "Q5_0": dequant_q5_0, "Q5_1": dequant_q5_1,
    "Q4_K": dequant_q4_k, "Q5_K": dequant_q5_k, "Q6_K": dequant_q6_k,
}


def dequantize(raw: np.ndarray, type_name: str) -> np.ndarray:
    """Raw bytes of ``type_name`` -> flat float64 values."""
    if type_name not in DEQUANTIZERS:
        raise NotImplementedError(f"no reference dequantizer for {type_name}")
    return DEQUANTIZERS[type_name](raw)


def tensor(gguf: GGUFFile, name: str) -> np.ndarray:
    """A GGUF tensor as float64 in NumPy shape (reverse of ``ne``: ``[ne1, ne0]`` for a matrix)."""
    info = gguf.tensors[name]
    return dequantize(gguf.raw_tensor(name), info.type_name).reshape(info.shape)
