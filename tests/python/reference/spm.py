"""A llama.cpp-style SentencePiece tokenizer over a GGUF "llama" vocab (tokens + scores).

Encoding: prepend a space, turn spaces into "▁", start from single UTF-8 characters, then keep
merging the adjacent pair whose concatenation is a vocab entry with the highest score (leftmost on
ties). A symbol left that is not in the vocab becomes its UTF-8 bytes as ``<0xXX>`` tokens.
Decoding undoes it: "▁" -> space, ``<0xXX>`` -> that byte, and the leading space is dropped.
"""
from __future__ import annotations

import heapq
import re
from dataclasses import dataclass

import numpy as np

from .gguf import GGUFFile

SPACE_MARK = "\u2581"  # "▁"
_BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


@dataclass
class SentencePieceVocab:
    tokens: list[str]
    scores: np.ndarray  # [n_vocab] float
    bos_id: int
    eos_id: int

    @classmethod
    def from_gguf(cls, gguf: GGUFFile) -> "SentencePieceVocab":
        meta = gguf.metadata
        if meta.get("tokenizer.ggml.model") != "llama":
            raise ValueError(f"{gguf.path}: tokenizer.ggml.model={meta.get('tokenizer.ggml.model')!r},"
                             " want 'llama' (SentencePiece)")
        tokens = list(meta["tokenizer.ggml.tokens"])
        scores = np.asarray(meta.get("tokenizer.ggml.scores", np.zeros(len(tokens))), dtype=np.float64)
        return cls(tokens, scores, int(meta.get("tokenizer.ggml.bos_token_id", 1)),
                   int(meta.get("tokenizer.ggml.eos_token_id", 2)))


class SentencePieceTokenizer:
    def __init__(self, vocab: SentencePieceVocab) -> None:
        self.vocab = vocab
        self.ids = {text: i for i, text in enumerate(vocab.tokens)}
        self.byte_ids: dict[int, int] = {}
        self.id_bytes: dict[int, bytes] = {}
        for i, text in enumerate(vocab.tokens):
            match = _BYTE_TOKEN.match(text)
            if match:
                self.byte_ids[int(match.group(1), 16)] = i
                self.id_bytes[i] = bytes([int(match.group(1), 16)])

    def encode(self, text: str, add_bos: bool = True) -> list[int]:
        ids = [self.vocab.bos_id] if add_bos else []
        if not text:
            return ids
        symbols = list((" " + text).replace(" ", SPACE_MARK))
        # Doubly linked list over the symbols; merged-away symbols become "".
        prev = list(range(-1, len(symbols) - 1))
        nxt = list(range(1, len(symbols) + 1))
        nxt[-1] = -1
        heap: list[tuple[float, int, str, str]] = []

        def push(left: int) -> None:
            right = nxt[left]
            if right == -1:
                return
            merged = symbols[left] + symbols[right]
            if merged in self.ids:
                # Highest score first, then leftmost; remember the pair's texts to spot stale entries.
                heapq.heappush(heap, (-self.vocab.scores[self.ids[merged]], left,
                                      symbols[left], symbols[right]))

        for i in range(len(symbols) - 1):
            push(i)
        while heap:
            _, left, left_text, right_text = heapq.heappop(heap)
            right = nxt[left]
            if right == -1 or symbols[left] != left_text or symbols[right] != right_text:
                continue  # one side was merged since this pair was queued
            symbols[left] = left_text + right_text
            symbols[right] = ""
            nxt[left] = nxt[right]
            if nxt[right] != -1:
                prev[nxt[right]] = left
            if prev[left] != -1:
                push(prev[left])
            push(left)

        i = 0
        while i != -1:
            piece = symbols[i]
            if piece in self.ids:
                ids.append(self.ids[piece])
            else:
                ids.extend(self.byte_ids[b] for b in piece.encode("utf-8"))
            i = nxt[i]
        return ids

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids``; control tokens (BOS/EOS) are skipped, the first leading space dropped."""
        out = bytearray()
        for i in ids:
            if i in (self.vocab.bos_id, self.vocab.eos_id):
                continue
            if i in self.id_bytes:
                out += self.id_bytes[i]
            else:
                out += self.vocab.tokens[i].replace(SPACE_MARK, " ").encode("utf-8")
        text = out.decode("utf-8", errors="replace")
        return text[1:] if text.startswith(" ") else text
