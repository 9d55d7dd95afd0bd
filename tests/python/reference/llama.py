"""The llama-architecture forward pass in float64 (docs/facts.md §1 and §4), for checking the C++ logits.

Plain and slow on purpose: every weight is dequantized to float64 once, and each step is the textbook
formula. GGUF stores Q/K rows in Meta's interleaved order, so RoPE rotates adjacent pairs
(x[2i], x[2i+1]) ("normal" mode). An optional KV cache lets the same code run a prompt in one batch
(prefill) or one token at a time, which the self-tests compare.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import quants
from .gguf import GGUFFile

DEFAULT_ROPE_THETA = 10000.0  # used when llama.rope.freq_base is absent (e.g. stories260K)
DEFAULT_RMS_EPS = 1e-5


@dataclass(frozen=True)
class LlamaConfig:
    """Hyperparameters read from the ``llama.*`` metadata keys."""

    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_dim: int
    vocab_size: int
    rope_theta: float
    rms_eps: float

    @classmethod
    def from_gguf(cls, gguf: GGUFFile) -> "LlamaConfig":
        meta = gguf.metadata
        arch = meta.get("general.architecture", "llama")
        if arch != "llama":
            raise ValueError(f"{gguf.path}: general.architecture={arch!r}, reference handles 'llama'")
        dim = int(meta["llama.embedding_length"])
        n_heads = int(meta["llama.attention.head_count"])
        head_dim = int(meta.get("llama.attention.key_length", dim // n_heads))
        vocab = meta.get("llama.vocab_size")
        if vocab is None:  # older files: the vocab size is the embedding's outer dimension
            vocab = gguf.tensors["token_embd.weight"].ne[1]
        return cls(
            dim=dim,
            n_layers=int(meta["llama.block_count"]),
            n_heads=n_heads,
            n_kv_heads=int(meta.get("llama.attention.head_count_kv", n_heads)),
            head_dim=head_dim,
            ffn_dim=int(meta["llama.feed_forward_length"]),
            vocab_size=int(vocab),
            rope_theta=float(meta.get("llama.rope.freq_base", DEFAULT_ROPE_THETA)),
            rms_eps=float(meta.get("llama.attention.layer_norm_rms_epsilon", DEFAULT_RMS_EPS)),
        )


@dataclass
class LayerWeights:
    """One block's weights, float64, PyTorch layout ``[out, in]``."""

    attn_norm: np.ndarray  # [dim]
    wq: np.ndarray  # [n_heads*head_dim, dim]
    wk: np.ndarray  # [n_kv_heads*head_dim, dim]
    wv: np.ndarray  # [n_kv_heads*head_dim, dim]
    wo: np.ndarray  # [dim, n_heads*head_dim]
    ffn_norm: np.ndarray  # [dim]
    w_gate: np.ndarray  # [ffn_dim, dim]  (Meta w1)
    w_up: np.ndarray  # [ffn_dim, dim]    (Meta w3)
    w_down: np.ndarray  # [dim, ffn_dim]  (Meta w2)


@dataclass
class KVCache:
    """Post-RoPE keys and values of every position seen so far, per layer."""

    keys: list[np.ndarray] = field(default_factory=list)  # per layer [n_kv_heads, n_pos, head_dim]
    values: list[np.ndarray] = field(default_factory=list)  # per layer [n_kv_heads, n_pos, head_dim]

    @property
    def n_pos(self) -> int:
        return self.keys[0].shape[1] if self.keys else 0


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """x * rsqrt(mean(x^2) + eps) * weight, over the last axis."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def rope_angles(positions: np.ndarray, head_dim: int, theta: float,
                rope_freqs: np.ndarray | None) -> np.ndarray:
    """Angle of pair i at each position: pos * theta^(-2i/head_dim) / rope_freqs[i]. ``[n_pos, hd/2]``."""
    inv_freq = theta ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    if rope_freqs is not None:
        inv_freq = inv_freq / rope_freqs
    return positions.astype(np.float64)[:, None] * inv_freq[None, :]


def apply_rope(x: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate adjacent pairs (x[2i], x[2i+1]) of each head by ``angles[pos, i]``.

    ``x`` is ``[n_heads, n_pos, head_dim]``; x0' = x0 cos - x1 sin, x1' = x0 sin + x1 cos.
    """
    cos, sin = np.cos(angles), np.sin(angles)  # [n_pos, hd/2]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


class LlamaReference:
    """A llama GGUF model held entirely as float64 arrays."""

    def __init__(self, path: str | Path) -> None:
        gguf = GGUFFile(path)
        self.config = cfg = LlamaConfig.from_gguf(gguf)

        def weight(name: str) -> np.ndarray:
            return quants.tensor(gguf, name)

        self.token_embd = weight("token_embd.weight")  # [vocab, dim]
        self.layers = [
            LayerWeights(
                attn_norm=weight(f"blk.{i}.attn_norm.weight"),
                wq=weight(f"blk.{i}.attn_q.weight"),
                wk=weight(f"blk.{i}.attn_k.weight"),
                wv=weight(f"blk.{i}.attn_v.weight"),
                wo=weight(f"blk.{i}.attn_output.weight"),
                ffn_norm=weight(f"blk.{i}.ffn_norm.weight"),
                w_gate=weight(f"blk.{i}.ffn_gate.weight"),
                w_up=weight(f"blk.{i}.ffn_up.weight"),
                w_down=weight(f"blk.{i}.ffn_down.weight"),
            )
            for i in range(cfg.n_layers)
        ]
        self.output_norm = weight("output_norm.weight")  # [dim]
        # Tied embeddings (Llama 3.2 1B/3B): no output.weight, the embedding doubles as the output.
        self.tied = "output.weight" not in gguf.tensors
        self.output = self.token_embd if self.tied else weight("output.weight")  # [vocab, dim]
        # Llama 3.1 scaling is recognised by the presence of rope_freqs.weight (divisors, [hd/2]).
        self.rope_freqs = weight("rope_freqs.weight") if "rope_freqs.weight" in gguf.tensors else None
        self._check_shapes()

    def _check_shapes(self) -> None:
        cfg = self.config
        q_dim, kv_dim = cfg.n_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim
        expected = {
            "token_embd": (self.token_embd.shape, (cfg.vocab_size, cfg.dim)),
            "output": (self.output.shape, (cfg.vocab_size, cfg.dim)),
            "blk.0.attn_q": (self.layers[0].wq.shape, (q_dim, cfg.dim)),
            "blk.0.attn_k": (self.layers[0].wk.shape, (kv_dim, cfg.dim)),
            "blk.0.attn_output": (self.layers[0].wo.shape, (cfg.dim, q_dim)),
            "blk.0.ffn_down": (self.layers[0].w_down.shape, (cfg.dim, cfg.ffn_dim)),
        }
        if self.rope_freqs is not None:
            expected["rope_freqs"] = (self.rope_freqs.shape, (cfg.head_dim // 2,))
        for name, (got, want) in expected.items():
            if got != want:
                raise ValueError(f"{name}: shape {got}, config implies {want}")
        if cfg.n_heads % cfg.n_kv_heads:
            raise ValueError(f"n_heads={cfg.n_heads} not a multiple of n_kv_heads={cfg.n_kv_heads}")

    def forward(self, tokens: list[int] | np.ndarray, cache: KVCache | None = None) -> np.ndarray:
        """Logits ``[n_tokens, vocab]`` (float64) for every token.

        Without ``cache`` the tokens sit at positions 0..n-1. With one, they continue after the
        positions already cached, and their keys/values are appended to it.
        """
        cfg = self.config
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.ndim != 1 or tokens.size == 0:
            raise ValueError("tokens must be a non-empty 1-D list")
        if tokens.min() < 0 or tokens.max() >= cfg.vocab_size:
            raise ValueError(f"token id out of range 0..{cfg.vocab_size - 1}")
        cache = cache if cache is not None else KVCache()
        start = cache.n_pos
        n = tokens.size
        positions = np.arange(start, start + n)
        angles = rope_angles(positions, cfg.head_dim, cfg.rope_theta, self.rope_freqs)
        # Query i (at position start+i) may see keys 0..start+i.
        visible = np.arange(start + n)[None, :] <= positions[:, None]  # [n, start+n]
        n_rep = cfg.n_heads // cfg.n_kv_heads
        hd = cfg.head_dim

        x = self.token_embd[tokens]  # [n, dim]
        for li, layer in enumerate(self.layers):
            h = rms_norm(x, layer.attn_norm, cfg.rms_eps)  # [n, dim]
            q = self.linear(h, layer.wq).reshape(n, cfg.n_heads, hd).transpose(1, 0, 2)  # [nh, n, hd]
            k = self.linear(h, layer.wk).reshape(n, cfg.n_kv_heads, hd).transpose(1, 0, 2)  # [nkv, n, hd]
            v = self.linear(h, layer.wv).reshape(n, cfg.n_kv_heads, hd).transpose(1, 0, 2)  # [nkv, n, hd]
            q, k = apply_rope(q, angles), self.stored_kv(apply_rope(k, angles))
            v = self.stored_kv(v)
            if li < len(cache.keys):
                cache.keys[li] = np.concatenate([cache.keys[li], k], axis=1)
                cache.values[li] = np.concatenate([cache.values[li], v], axis=1)
            else:
                cache.keys.append(k)
                cache.values.append(v)
            keys, values = cache.keys[li], cache.values[li]  # [nkv, start+n, hd]

            attn = np.empty((n, cfg.n_heads, hd))
            for head in range(cfg.n_heads):  # one head at a time keeps memory at n*(start+n)
                kv = head // n_rep  # KV head j serves query heads j*n_rep .. j*n_rep+n_rep-1
                scores = q[head] @ keys[kv].T / np.sqrt(hd)  # [n, start+n]
                scores = np.where(visible, scores, -np.inf)
                scores -= scores.max(axis=1, keepdims=True)
                probs = np.exp(scores)
                probs /= probs.sum(axis=1, keepdims=True)
                attn[:, head, :] = probs @ values[kv]
            x = x + self.linear(attn.reshape(n, cfg.n_heads * hd), layer.wo)

            h = rms_norm(x, layer.ffn_norm, cfg.rms_eps)
            x = x + self.linear(silu(self.linear(h, layer.w_gate)) * self.linear(h, layer.w_up),
                                layer.w_down)

        return self.linear(rms_norm(x, self.output_norm, cfg.rms_eps), self.output)  # [n, vocab]

    # Hooks, exact here; ``precision_model`` overrides them to imitate the C++ number formats.
    def linear(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """x @ weight.T: ``[n, in]`` x ``[out, in]`` -> ``[n, out]``."""
        return x @ weight.T

    def stored_kv(self, x: np.ndarray) -> np.ndarray:
        """Keys/values as the KV cache stores them (exact in the reference)."""
        return x

    def greedy(self, prompt: list[int], n_new: int, stop: int | None = None) -> list[int]:
        """Greedy decoding: ``prompt`` followed by up to ``n_new`` argmax tokens (stops after ``stop``)."""
        cache = KVCache()
        tokens = list(prompt)
        logits = self.forward(tokens, cache)
        for _ in range(n_new):
            next_id = int(np.argmax(logits[-1]))
            tokens.append(next_id)
            if next_id == stop:
                break
            logits = self.forward([next_id], cache)
        return tokens
