#!/usr/bin/env python3
"""Token-mask times of llguidance or xgrammar on grammar_bench's schemas and vocabulary.

For each schema in tests/grammar/benchmark_schemas.hpp: compile time (JSON Schema -> matcher) and the
time of one mask computation per token (p50 / p99 / max) along uniform random walks through the
grammar, after warm-up walks; the same protocol as build/bin/grammar_bench. Both peers fill a
bitmask (one bit per token) and do not write a logits row, and the time includes the Python call
(about a microsecond), so their figures are a floor for the same work as ours.

xgrammar (PyPI `xgrammar`, which imports torch) reads the vocabulary through transformers'
PreTrainedTokenizerFast; its compiler runs with --xgrammar-threads threads (default 1, as ours) and
its JSON Schema whitespace is bounded as ours (at most 8 characters between tokens of the JSON).

Usage: compare_grammar_peers.py [--peer llguidance|xgrammar] --vocab build/data/tokenizer.json
       [--steps N] [--warmup-walks N] [--xgrammar-threads N] [-o json]
"""
import argparse
import json
import math
import pathlib
import random
import re
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMAS_HEADER = ROOT / "tests" / "grammar" / "benchmark_schemas.hpp"


def load_schemas():
    """(name, schema) pairs from the C++ header, so both benches use the same text."""
    text = SCHEMAS_HEADER.read_text(encoding="utf-8")
    pairs = []
    for match in re.finditer(r'\{"([a-z-]+)",\s*(?:R"\((.*?)\)"|"((?:[^"\\]|\\.)*)")\}', text,
                             re.DOTALL):
        name, raw, plain = match.groups()
        schema = raw if raw is not None else bytes(plain, "utf-8").decode("unicode_escape")
        json.loads(schema)  # fail early on a parse slip
        pairs.append((name, schema))
    if not pairs:
        sys.exit(f"compare_grammar_peers: no schemas found in {SCHEMAS_HEADER}")
    return pairs


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(max(math.ceil(p * len(ordered)) - 1, 0), len(ordered) - 1)]


def bench_llguidance(vocab_path, schemas, steps, warmup_walks, seed):
    import numpy as np
    import llguidance
    import llguidance.numpy as llg_numpy

    start = time.perf_counter()
    tokenizer = llguidance.LLTokenizer(vocab_path)
    vocabulary_ms = (time.perf_counter() - start) * 1e3
    n_vocab = tokenizer.vocab_size
    results = []
    for name, schema in schemas:
        start = time.perf_counter()
        grammar = llguidance.LLMatcher.grammar_from_json_schema(schema)
        matcher = llguidance.LLMatcher(tokenizer, grammar)
        compile_ms = (time.perf_counter() - start) * 1e3
        if matcher.is_error():
            results.append({"schema": name, "error": matcher.get_error()})
            continue
        rng = random.Random(seed)
        bitmask = llg_numpy.allocate_token_bitmask(1, n_vocab)
        times = []
        walk = 0
        while len(times) < steps:
            matcher = llguidance.LLMatcher(tokenizer, grammar)
            for _ in range(400):
                start = time.perf_counter_ns()
                llg_numpy.fill_next_token_bitmask(matcher, bitmask, 0)
                elapsed_us = (time.perf_counter_ns() - start) / 1e3
                if walk >= warmup_walks:
                    times.append(elapsed_us)
                bits = np.unpackbits(bitmask[0].view(np.uint8), bitorder="little")
                allowed = np.flatnonzero(bits[:n_vocab])
                if len(allowed) == 0:
                    break
                pick = int(allowed[rng.randrange(len(allowed))])
                if not matcher.consume_token(pick) or matcher.is_stopped():
                    break
            walk += 1
        results.append({
            "schema": name,
            "compile_ms": compile_ms,
            "mask_p50_us": percentile(times, 0.50),
            "mask_p99_us": percentile(times, 0.99),
            "mask_max_us": percentile(times, 1.0),
            "measured_steps": len(times),
        })
    return {"peer": f"llguidance {llguidance.__version__ if hasattr(llguidance, '__version__') else ''}".strip(),
            "vocabulary_ms": vocabulary_ms, "schemas": results}


def bench_xgrammar(vocab_path, schemas, steps, warmup_walks, seed, threads):
    import numpy as np
    import xgrammar
    from transformers import PreTrainedTokenizerFast

    start = time.perf_counter()
    hf_tokenizer = PreTrainedTokenizerFast(tokenizer_file=vocab_path)
    tokenizer_info = xgrammar.TokenizerInfo.from_huggingface(hf_tokenizer,
                                                             vocab_size=len(hf_tokenizer))
    vocabulary_ms = (time.perf_counter() - start) * 1e3
    n_vocab = tokenizer_info.vocab_size
    results = []
    for name, schema in schemas:
        # A compiler per schema with its cache off, so that compile_ms is a first compile.
        compiler = xgrammar.GrammarCompiler(tokenizer_info, max_threads=threads,
                                            cache_enabled=False)
        start = time.perf_counter()
        try:
            compiled = compiler.compile_json_schema(schema, any_whitespace=True,
                                                    max_whitespace_cnt=8)
        except Exception as error:  # an unsupported keyword: report it, go on
            results.append({"schema": name, "error": str(error)})
            continue
        compile_ms = (time.perf_counter() - start) * 1e3
        rng = random.Random(seed)
        bitmask = xgrammar.allocate_token_bitmask(1, n_vocab)
        times = []
        walk = 0
        while len(times) < steps:
            matcher = xgrammar.GrammarMatcher(compiled)
            for _ in range(400):
                start = time.perf_counter_ns()
                matcher.fill_next_token_bitmask(bitmask, 0)
                elapsed_us = (time.perf_counter_ns() - start) / 1e3
                if walk >= warmup_walks:
                    times.append(elapsed_us)
                bits = np.unpackbits(bitmask[0].numpy().view(np.uint8), bitorder="little")
                allowed = np.flatnonzero(bits[:n_vocab])
                if len(allowed) == 0:
                    break
                pick = int(allowed[rng.randrange(len(allowed))])
                if not matcher.accept_token(pick) or matcher.is_terminated():
                    break
            walk += 1
        results.append({
            "schema": name,
            "compile_ms": compile_ms,
            "mask_p50_us": percentile(times, 0.50),
            "mask_p99_us": percentile(times, 0.99),
            "mask_max_us": percentile(times, 1.0),
            "measured_steps": len(times),
        })
    version = getattr(xgrammar, "__version__", "")
    if not version:
        from importlib.metadata import version as package_version
        version = package_version("xgrammar")
    return {"peer": f"xgrammar {version} ({threads} compiler thread(s))",
            "vocabulary_ms": vocabulary_ms, "schemas": results}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=["llguidance", "xgrammar"], default="llguidance")
    parser.add_argument("--xgrammar-threads", type=int, default=1)
    parser.add_argument("--vocab", default=str(ROOT / "build" / "data" / "tokenizer.json"))
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--warmup-walks", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("-o", dest="output", choices=["json", "table"], default="table")
    args = parser.parse_args()
    if args.peer == "xgrammar":
        report = bench_xgrammar(args.vocab, load_schemas(), args.steps, args.warmup_walks,
                                args.seed, args.xgrammar_threads)
    else:
        report = bench_llguidance(args.vocab, load_schemas(), args.steps, args.warmup_walks,
                                  args.seed)
    if args.output == "json":
        print(json.dumps(report))
        return
    print(f"{report['peer']}: tokenizer loaded in {report['vocabulary_ms']:.1f} ms")
    print(f"{'schema':<10} {'compile ms':>11} {'p50 us':>10} {'p99 us':>10} {'max us':>10} {'steps':>8}")
    for r in report["schemas"]:
        if "error" in r:
            print(f"{r['schema']:<10} error: {r['error']}")
            continue
        print(f"{r['schema']:<10} {r['compile_ms']:>11.2f} {r['mask_p50_us']:>10.1f} "
              f"{r['mask_p99_us']:>10.1f} {r['mask_max_us']:>10.1f} {r['measured_steps']:>8}")


if __name__ == "__main__":
    main()
