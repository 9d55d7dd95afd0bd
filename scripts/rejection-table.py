#!/usr/bin/env python3
"""Counts, per input class, the hostile inputs the tests and the fuzz regressions give the parsers,
and how each ended: rejected with a clean error, accepted, or not cleanly (another exception, an
internal error, a crash). Prints the Markdown table docs/testing.md shows.

The numbers come from runs, not from the source: the C++ tests wrap each hostile input in
testing::hostile_input (tests/support/hostile_input.hpp) and the CLI tests count their usage
errors; with LLAMA3_REJECTION_LOG set they append their counts to a file at exit. The fuzz targets
count the same way (fuzz/fuzz_support.hpp) and are built as replay programs (-DLLAMA3_FUZZ_REPLAY=ON)
that run fuzz/regressions/<target>/ and, when present, the saved libFuzzer corpus
(build-fuzz/fuzz/corpus/<target>/, from scripts/fuzz.sh). The Python binding's tests count theirs
(bindings/python/tests/hostile_input.py) and run through ctest (`python_binding`), so that its
fixtures and, in a sanitizer tree, its preloaded runtime are as in the ordinary run.

The test files that feed hostile inputs are built as one binary (llama3_hostile_input_tests, much
smaller than llama3_tests, so that a sanitizer tree can afford it); each file runs as its own
process (Catch2's `-#` file tags), so a crash is charged to the classes that file feeds.

The programs the count needs (that binary, the `llama3` tool the CLI tests run, the replay programs,
the Python extension) are built in the given tree; with --no-build only those it lacks are.

  scripts/rejection-table.py [--build build] [--no-build] [--corpus DIR] [--json OUT]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
# What a test file must contain to feed hostile inputs that are counted.
COUNTING_CALLS = re.compile(r"\bhostile_input\b|\brun_usage_error\(|\btally_bad_arguments\(")
NAMED_CLASS = re.compile(r'hostile_input(?:<[^>]*>)?\(\s*"(\w+)"')
PYTHON_TESTS = ROOT / "bindings" / "python" / "tests"
# Above this many inputs a failed replay is not rerun one input per process.
MAX_RECHECKED_INPUTS = 300
# Fuzz target -> input class of the table.
FUZZ_CLASSES = {
    "gguf": "gguf", "safetensors": "safetensors", "hf_config": "hf_config",
    "vocab_files": "tokenizer_files", "tokenizer_roundtrip": "tokenizer_text",
    "session_state": "session_state", "chat": "chat", "grammar": "grammar",
    "server_request": "server_request", "pytorch_checkpoint": "pytorch",
}
DESCRIPTIONS = {
    "gguf": "GGUF files",
    "safetensors": "safetensors files and shard indexes",
    "hf_config": "Hugging Face config.json (model folders)",
    "tokenizer_files": "tokenizer.json / tokenizer.model / GGUF vocabularies",
    "tokenizer_text": "text to encode and ids to decode",
    "session_state": "saved session state",
    "chat": "chat messages, tool definitions, tool-call replies",
    "grammar": "GBNF grammars, JSON schemas, regexes, constrained text",
    "server_request": "server request JSON bodies and fields",
    "pytorch": "PyTorch .pth (zip + pickle)",
    "lora_adapter": "LoRA adapter folders (adapter_config.json + tensors)",
    "safety_rules": "code-scanner rule sets (JSON)",
    "cli_args": "command-line arguments of `llama3`",
    "python_api": "arguments of the Python binding (paths, values, types)",
}


class Counts:
    def __init__(self) -> None:
        self.accepted = self.rejected = self.failed = self.crashed = 0

    @property
    def total(self) -> int:
        return self.accepted + self.rejected + self.failed + self.crashed


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=kwargs.pop("cwd", ROOT), text=True, capture_output=True,
                          **kwargs)


def classes_in_source(path: pathlib.Path) -> set[str]:
    """The input classes a test file feeds, as its source names them (for charging a crash)."""
    text = path.read_text(errors="replace")
    classes = set(NAMED_CLASS.findall(text))
    if re.search(r"\brun_usage_error\(|\btally_bad_arguments\(", text):
        classes.add("cli_args")
    return classes


def python_classes() -> set[str]:
    """The input classes the Python binding's tests feed (its own test's class left out)."""
    return {name for path in PYTHON_TESTS.glob("test_*.py")
            for name in NAMED_CLASS.findall(path.read_text(errors="replace"))
            if not name.startswith("_")}


def needed_programs(build: pathlib.Path) -> dict[str, list[pathlib.Path]]:
    """Build target -> the programs of it the count runs."""
    needed = {
        "llama3_hostile_input_tests": [build / "tests" / "llama3_hostile_input_tests"],
        "llama3_cli": [build / "bin" / "llama3"],
        "make_test_model": [build / "bin" / "make_test_model"],
    }
    for target in FUZZ_CLASSES:
        needed[f"fuzz_replay_{target}"] = [build / "fuzz" / f"fuzz_replay_{target}"]
    # (The Python extension's target exists when CMake found pybind11 and the venv.)
    if (build / "bindings" / "python" / "CMakeFiles" / "llama3_python.dir").is_dir():
        needed["llama3_python"] = list((build / "python" / "llama3").glob("_llama3*.so")) or [
            build / "python" / "llama3" / "_llama3.so"]
    return needed


def build_programs(build: pathlib.Path, only_missing: bool) -> bool:
    cache = build / "CMakeCache.txt"
    replay_on = cache.exists() and "LLAMA3_FUZZ_REPLAY:BOOL=ON" in cache.read_text()
    if not only_missing or not replay_on:
        configure = run(["cmake", "-S", str(ROOT), "-B", str(build), "-DLLAMA3_FUZZ_REPLAY=ON"])
        if configure.returncode != 0:
            sys.stderr.write(configure.stdout + configure.stderr)
            return False
    targets = [target for target, programs in needed_programs(build).items()
               if not only_missing or not all(p.exists() for p in programs)]
    if not targets:
        return True
    if only_missing:
        print(f"building what {build} lacks: {' '.join(targets)}", file=sys.stderr)
    jobs = os.environ.get("LLAMA3_BUILD_JOBS", str(os.cpu_count() or 1))
    built = subprocess.run(["cmake", "--build", str(build), "-j", jobs, "--target", *targets],
                           cwd=ROOT)
    return built.returncode == 0


def count_python_tests(build: pathlib.Path, env: dict, log: pathlib.Path, table: dict,
                       sources: dict, problems: list) -> None:
    """Runs the Python binding's tests through ctest (its fixtures make the models they use)."""
    listed = run(["ctest", "-N", "-R", "^python_binding$"], cwd=build)
    if "python_binding" not in listed.stdout:
        problems.append(f"bindings/python/tests: not run ({build} has no Python binding)")
        return
    result = run(["ctest", "-V", "-R", "^python_binding$"], cwd=build,
                 env=dict(env, LLAMA3_REJECTION_LOG=str(log)))
    read_log(log, "bindings/python/tests", table, sources)
    summary = re.findall(r"^\d+: =*\s*(\d+ (?:passed|failed).*?)\s*=*$", result.stdout, re.M)
    if summary:
        problems.append(f"bindings/python/tests (python_binding): {summary[-1]}")
    if result.returncode == 0 and not log.exists():
        problems.append("bindings/python/tests: skipped (test data or packages missing)")
    elif result.returncode != 0 and not log.exists():
        # python ended before its exit handlers ran: a signal or a sanitizer report.
        for input_class in python_classes():
            table[input_class].crashed += 1
        problems.append("bindings/python/tests: crashed (ctest -R '^python_binding$' "
                        "--output-on-failure)")
    elif result.returncode != 0:
        problems.append("bindings/python/tests: test failures (ctest -R '^python_binding$' "
                        "--output-on-failure)")


def read_log(path: pathlib.Path, source: str, table: dict, sources: dict) -> set[str]:
    classes = set()
    if not path.exists():
        return classes
    for line in path.read_text().splitlines():
        name, accepted, rejected, failed = line.split("\t")
        if name.startswith("fuzz:fuzz_replay_"):
            name = FUZZ_CLASSES[name[len("fuzz:fuzz_replay_"):]]
        counts = table[name]
        counts.accepted += int(accepted)
        counts.rejected += int(rejected)
        counts.failed += int(failed)
        sources[name].add(source)
        classes.add(name)
    return classes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(ROOT / "build"), help="CMake build folder")
    parser.add_argument("--no-build", action="store_true",
                        help="build only the programs the build folder lacks")
    parser.add_argument("--corpus", default=str(ROOT / "build-fuzz" / "fuzz" / "corpus"),
                        help="libFuzzer's saved corpus, replayed too when it exists")
    parser.add_argument("--json", help="also write the counts as JSON here")
    args = parser.parse_args()
    build = pathlib.Path(args.build).resolve()

    test_files = sorted(p for p in (ROOT / "tests").rglob("*.cpp")
                        if COUNTING_CALLS.search(p.read_text(errors="replace")))
    if not build_programs(build, only_missing=args.no_build):
        return 1

    table: dict[str, Counts] = collections.defaultdict(Counts)
    sources: dict[str, set[str]] = collections.defaultdict(set)
    env = dict(os.environ, LLAMA3_DATA_DIR=str(build / "data"))
    # In a sanitizer build a report exits 66 instead of the 1 that also means "a test failed".
    for variable in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env[variable] = ":".join(filter(None, [env.get(variable, ""), "exitcode=66"]))
    problems = []
    with tempfile.TemporaryDirectory(prefix="llama3-rejections-") as scratch:
        catch2_passed = [0, 0]  # test cases, assertions
        for index, test_file in enumerate(test_files):
            log = pathlib.Path(scratch) / f"test-{index}.tsv"
            tag = f"[#{test_file.stem}]"
            result = run([str(build / "tests" / "llama3_hostile_input_tests"), "-#", tag],
                         env=dict(env, LLAMA3_REJECTION_LOG=str(log)))
            name = str(test_file.relative_to(ROOT))
            classes = read_log(log, name, table, sources)
            if result.returncode == 77:
                problems.append(f"{name}: skipped (test data missing)")
            elif result.returncode < 0 or result.returncode > 1:
                # A crash (a signal, or a sanitizer report): the counts of that process are lost;
                # one crash is charged to each class it feeds.
                for input_class in classes | classes_in_source(test_file) or {"(unknown)"}:
                    table[input_class].crashed += 1
                problems.append(f"{name}: crashed (exit {result.returncode})")
            elif result.returncode != 0:
                problems.append(f"{name}: test failures (llama3_hostile_input_tests -# \"{tag}\")")
            passed = re.search(r"All tests passed \((\d+) assertions? in (\d+) test cases?\)",
                               result.stdout)
            if passed:
                catch2_passed[0] += int(passed.group(2))
                catch2_passed[1] += int(passed.group(1))
        problems.append(f"C++ hostile-input tests: {catch2_passed[0]} test cases passed "
                        f"({catch2_passed[1]} assertions) in {len(test_files)} files")

        count_python_tests(build, env, pathlib.Path(scratch) / "python.tsv", table, sources,
                           problems)

        corpus = pathlib.Path(args.corpus)
        # The server's request reader is fuzzed against a tiny Llama 3.1-vocabulary model, made
        # as scripts/fuzz.sh makes it.
        chat_model = build / "fuzz" / "chat-model.gguf"
        env["LLAMA3_FUZZ_CHAT_MODEL"] = str(chat_model)
        if not chat_model.exists():
            made = run([str(build / "bin" / "make_test_model"), "--out", str(chat_model),
                        "--shape", "tiny", "--vocab", "llama3.1"], env=env)
            if made.returncode != 0:
                sys.stderr.write(made.stderr)
                problems.append("make_test_model failed: fuzz_replay_server_request cannot run")
        for target, input_class in FUZZ_CLASSES.items():
            program = build / "fuzz" / f"fuzz_replay_{target}"
            inputs = [d for d in (ROOT / "fuzz" / "regressions" / target, corpus / target)
                      if d.is_dir() and any(d.iterdir())]
            if not inputs:
                continue
            if not program.exists():
                problems.append(f"fuzz_replay_{target}: not built, its inputs are not counted")
                continue
            log = pathlib.Path(scratch) / f"fuzz-{target}.tsv"
            result = run([str(program)] + [str(d) for d in inputs],
                         env=dict(env, LLAMA3_REJECTION_LOG=str(log)))
            if result.returncode != 0:
                # Find the inputs that crash, one process each (a process per input of a large
                # corpus would take hours under a sanitizer: then the run's report stands for one).
                files = [p for d in inputs for p in sorted(d.rglob("*")) if p.is_file()]
                if len(files) > MAX_RECHECKED_INPUTS:
                    table[input_class].crashed += 1
                    report = "\n".join(result.stderr.splitlines()[-20:])
                    problems.append(f"fuzz_replay_{target}: exit {result.returncode} over "
                                    f"{len(files)} inputs, not rechecked one by one:\n{report}")
                    files = []
                for path in files:
                    one = run([str(program), str(path)], env=env)
                    if one.returncode != 0:
                        table[input_class].crashed += 1
                        problems.append(f"fuzz_replay_{target} {path}: exit {one.returncode}")
            read_log(log, f"fuzz/{target}", table, sources)
            if result.returncode == 0:
                sources[input_class].add(
                    "fuzz: " + ", ".join(str(d.relative_to(ROOT)) if d.is_relative_to(ROOT)
                                         else str(d) for d in inputs))

    classes = [c for c in DESCRIPTIONS if c in table] + sorted(set(table) - set(DESCRIPTIONS))
    print("| input class | hostile inputs | rejected, clean error | accepted | other exception "
          "| crashed |")
    print("|---|---:|---:|---:|---:|---:|")
    for input_class in classes:
        c = table[input_class]
        label = DESCRIPTIONS.get(input_class, input_class)
        print(f"| {label} (`{input_class}`) | {c.total} | {c.rejected} | {c.accepted} | "
              f"{c.failed} | {c.crashed} |")
    totals = Counts()
    for c in table.values():
        totals.accepted += c.accepted
        totals.rejected += c.rejected
        totals.failed += c.failed
        totals.crashed += c.crashed
    print(f"| **all** | {totals.total} | {totals.rejected} | {totals.accepted} | {totals.failed} "
          f"| {totals.crashed} |")
    for problem in problems:
        print(f"\nnote: {problem}", file=sys.stderr)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {name: {"accepted": c.accepted, "rejected": c.rejected, "other": c.failed,
                    "crashed": c.crashed, "sources": sorted(sources[name])}
             for name, c in table.items()}, indent=2) + "\n")
    return 1 if any(c.failed or c.crashed for c in table.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
