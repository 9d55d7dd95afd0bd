"""Reference dequantizers checked on hand-made blocks (docs/facts.md §4 "Quant block layouts").

Each test builds block bytes field by field and states the expected values directly, so a layout
mistake in ``reference.quants`` (nibble order, high-bit position, scale packing) shows up here
before it can hide in a logits comparison. The K-quant tests also compare against a scalar,
one-element-at-a-time transcription of the docs/facts.md formulas on seeded random blocks.
"""
from __future__ import annotations

import struct

import numpy as np
import pytest

from reference import quants

pytestmark = pytest.mark.reference_selfcheck

SEED = 1234


def f16(x: float) -> bytes:
    return np.float16(x).tobytes()


def test_f32_f16_bf16_decode_known_bit_patterns() -> None:
    assert quants.dequant_f32(np.frombuffer(struct.pack("<2f", 1.5, -2.0), np.uint8)).tolist() \
        == [1.5, -2.0]
    # f16 0x3C00 = 1.0, 0xC000 = -2.0, 0x0001 = smallest subnormal 2^-24
    raw = np.frombuffer(struct.pack("<3H", 0x3C00, 0xC000, 0x0001), np.uint8)
    assert quants.dequant_f16(raw).tolist() == [1.0, -2.0, 2.0 ** -24]
    # bf16 0x3FC0 -> f32 0x3FC00000 = 1.5; 0xC040 -> -3.0
    raw = np.frombuffer(struct.pack("<2H", 0x3FC0, 0xC040), np.uint8)
    assert quants.dequant_bf16(raw).tolist() == [1.5, -3.0]


def test_q8_0_multiplies_signed_bytes_by_scale() -> None:
    qs = np.arange(-16, 16, dtype=np.int8)
    qs[0], qs[31] = -128, 127
    block = f16(0.5) + qs.tobytes()
    y = quants.dequant_q8_0(np.frombuffer(block, np.uint8))
    assert y[0] == -64.0 and y[31] == 63.5 and y[1] == -7.5 and y[16] == 0.0
    assert y.shape == (32,)


def test_q4_0_low_nibbles_are_first_half_high_nibbles_second() -> None:
    qs = bytes([0x1F] + [0x80] * 15)  # byte 0: low nibble 15, high nibble 1
    y = quants.dequant_q4_0(np.frombuffer(f16(2.0) + qs, np.uint8))
    assert y[0] == (15 - 8) * 2.0  # low nibble of byte 0 -> element 0
    assert y[16] == (1 - 8) * 2.0  # high nibble of byte 0 -> element 16
    assert y[1] == (0 - 8) * 2.0 and y[17] == (8 - 8) * 2.0


def test_q4_1_adds_min() -> None:
    qs = bytes([0x3A] + [0x00] * 15)
    y = quants.dequant_q4_1(np.frombuffer(f16(0.25) + f16(-1.0) + qs, np.uint8))
    assert y[0] == 10 * 0.25 - 1.0 and y[16] == 3 * 0.25 - 1.0 and y[5] == -1.0


def test_q5_0_fifth_bit_of_element_j_is_bit_j_of_qh() -> None:
    qh = (1 << 0) | (1 << 16) | (1 << 31)  # elements 0, 16 and 31 get +16
    qs = bytes([0x21] + [0x00] * 14 + [0xF0])
    y = quants.dequant_q5_0(np.frombuffer(f16(1.0) + struct.pack("<I", qh) + qs, np.uint8))
    assert y[0] == (1 | 16) - 16  # low nibble 1, high bit set
    assert y[16] == (2 | 16) - 16  # high nibble of byte 0 is 2
    assert y[31] == (15 | 16) - 16  # high nibble of byte 15 is 15
    assert y[15] == 0 - 16 and y[1] == -16


def test_q5_1_fifth_bit_and_min() -> None:
    qh = 1 << 20  # element 20 (the high nibble of byte 4)
    qs = bytes([0x00] * 4 + [0x70] + [0x00] * 11)
    y = quants.dequant_q5_1(np.frombuffer(f16(0.5) + f16(3.0) + struct.pack("<I", qh) + qs,
                                          np.uint8))
    assert y[20] == (7 | 16) * 0.5 + 3.0 and y[4] == 3.0 and y[0] == 3.0


def test_k_scale_packing_reads_six_bit_scales_and_mins() -> None:
    # Sub-block 1: sc = s[1]&63, m = s[5]&63. Sub-block 5: sc = (s[9]&0xF) | (s[1]>>6)<<4,
    # m = (s[9]>>4) | (s[5]>>6)<<4.
    s = np.zeros((1, 12), np.uint8)
    s[0, 1] = 0b11_000101  # sc1 = 5, top bits 3 -> sc5 high bits
    s[0, 5] = 0b10_001001  # m1 = 9, top bits 2 -> m5 high bits
    s[0, 9] = 0xA7  # sc5 low = 7, m5 low = 10
    sc, mn = quants.k_scales_mins(s)
    assert sc[0, 1] == 5 and mn[0, 1] == 9
    assert sc[0, 5] == 7 | (3 << 4) and mn[0, 5] == 10 | (2 << 4)


def test_q4_k_known_block() -> None:
    scales = bytearray(12)
    scales[0], scales[4] = 2, 1  # sub-block 0: sc 2, m 1
    scales[3], scales[7] = 3, 4  # sub-block 3: sc 3, m 4
    qs = bytearray(128)
    qs[0] = 0x5C  # chunk 0, l=0: low 12 -> sub-block 0 element 0; high 5 -> sub-block 1 element 32
    qs[32 + 7] = 0x90  # chunk 1, l=7: high 9 -> sub-block 3 element 96+7
    block = f16(0.5) + f16(0.25) + bytes(scales) + bytes(qs)
    y = quants.dequant_q4_k(np.frombuffer(block, np.uint8))
    assert y[0] == 0.5 * 2 * 12 - 0.25 * 1
    assert y[32] == 0.0  # sub-block 1 has sc 0, m 0
    assert y[96 + 7] == 0.5 * 3 * 9 - 0.25 * 4
    assert y[64 + 7] == 0.0 - 0.0  # sub-block 2: zero scale and min


def test_q5_k_high_bit_of_sub_block_s_is_bit_s_of_qh() -> None:
    scales = bytearray(12)
    scales[2] = 1  # sub-block 2: sc 1, m 0
    scales[3] = 1  # sub-block 3: sc 1, m 0
    qh = bytearray(32)
    qh[5] = 0b0000_1100  # bits 2 and 3: sub-blocks 2 and 3 at l=5
    qs = bytearray(128)
    qs[32 + 5] = 0x21  # chunk 1, l=5: low 1 (sub-block 2), high 2 (sub-block 3)
    block = f16(1.0) + f16(0.0) + bytes(scales) + bytes(qh) + bytes(qs)
    y = quants.dequant_q5_k(np.frombuffer(block, np.uint8))
    assert y[64 + 5] == 1 + 16 and y[96 + 5] == 2 + 16 and y[64 + 6] == 0


def test_q6_k_known_block() -> None:
    ql, qh = bytearray(128), bytearray(64)
    scales = np.zeros(16, np.int8)
    scales[0], scales[2], scales[5], scales[15] = 1, -2, 3, 4
    ql[0] = 0x73  # half 0, l=0: low 3 -> y[0]; high 7 -> y[64]
    qh[0] = 0b00_01_00_10  # y[0] top bits 2, y[32] top 0, y[64] top 1, y[96] top 0
    ql[32 + 1] = 0x05  # half 0, l=1: low 5 -> y[33] (scale index 2)
    ql[64 + 31] = 0xF0  # half 1, l=31: high 15 -> y[128+64+31]=y[223]
    qh[32 + 31] = 0b11_00_00_00  # half 1, l=31: y[128+96+31] top bits 3
    block = bytes(ql) + bytes(qh) + scales.tobytes() + f16(0.5)
    y = quants.dequant_q6_k(np.frombuffer(block, np.uint8))
    assert y[0] == 0.5 * 1 * ((3 | 2 << 4) - 32)
    assert y[33] == 0.5 * -2 * (5 - 32)
    assert y[64] == 0.5 * 0 * ((7 | 1 << 4) - 32)  # scale index 4 is 0
    assert y[128 + 64 + 31] == 0.5 * scales[8 + 4 + 1] * (15 - 32)
    assert y[255] == 0.5 * 4 * ((0 | 3 << 4) - 32)  # half 1, quarter 3, l=31 -> scale 15


# --- scalar transcriptions of docs/facts.md §4, one element at a time, for random blocks ---------------

def _scalar_scale_min(s: bytes, j: int) -> tuple[int, int]:
    if j < 4:
        return s[j] & 63, s[j + 4] & 63
    return (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4)


def _scalar_q4_k(block: bytes, with_high_bits: bool) -> list[float]:
    d = float(np.frombuffer(block[0:2], "<f2")[0])
    dmin = float(np.frombuffer(block[2:4], "<f2")[0])
    s = block[4:16]
    qh = block[16:48] if with_high_bits else bytes(32)
    qs = block[48:176] if with_high_bits else block[16:144]
    y = []
    for c in range(4):
        for half in range(2):
            sub = 2 * c + half
            sc, m = _scalar_scale_min(s, sub)
            for l in range(32):
                q = (qs[32 * c + l] >> (4 * half)) & 0xF
                if (qh[l] >> sub) & 1:
                    q += 16
                y.append(d * sc * q - dmin * m)
    return y


def _scalar_q6_k(block: bytes) -> list[float]:
    ql, qh = block[0:128], block[128:192]
    sc = np.frombuffer(block[192:208], np.int8)
    d = float(np.frombuffer(block[208:210], "<f2")[0])
    y = [0.0] * 256
    for half in range(2):
        for l in range(32):
            a, b, h = ql[64 * half + l], ql[64 * half + l + 32], qh[32 * half + l]
            i = l // 16
            s = sc[8 * half:]
            y[128 * half + l] = d * s[i] * (((a & 0xF) | ((h >> 0) & 3) << 4) - 32)
            y[128 * half + l + 32] = d * s[i + 2] * (((b & 0xF) | ((h >> 2) & 3) << 4) - 32)
            y[128 * half + l + 64] = d * s[i + 4] * (((a >> 4) | ((h >> 4) & 3) << 4) - 32)
            y[128 * half + l + 96] = d * s[i + 6] * (((b >> 4) | ((h >> 6) & 3) << 4) - 32)
    return y


def _random_blocks(rng: np.random.Generator, n: int, size: int, scale_offsets: list[int]) -> bytes:
    """Random bytes, with the fp16 scale fields replaced by finite values."""
    raw = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    for off in scale_offsets:
        raw[:, off:off + 2] = rng.uniform(-2, 2, size=(n, 1)).astype("<f2").view(np.uint8)
    return raw.tobytes()


@pytest.mark.parametrize("type_name,size,scale_offsets", [
    ("Q4_K", 144, [0, 2]), ("Q5_K", 176, [0, 2]), ("Q6_K", 210, [208])])
def test_k_quants_match_scalar_transcription_on_random_blocks(
        type_name: str, size: int, scale_offsets: list[int]) -> None:
    print(f"seed={SEED}")
    rng = np.random.default_rng(SEED)
    n = 5
    raw = _random_blocks(rng, n, size, scale_offsets)
    got = quants.dequantize(np.frombuffer(raw, np.uint8), type_name)
    blocks = [raw[i * size:(i + 1) * size] for i in range(n)]
    if type_name == "Q6_K":
        want = sum((_scalar_q6_k(b) for b in blocks), [])
    else:
        want = sum((_scalar_q4_k(b, type_name == "Q5_K") for b in blocks), [])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_dequantize_rejects_partial_blocks() -> None:
    with pytest.raises(ValueError, match="whole number"):
        quants.dequant_q8_0(np.zeros(35, np.uint8))
