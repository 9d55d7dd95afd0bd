#!/usr/bin/env bash
# The wheel as a user gets it: `pip wheel` at the project root (pyproject.toml, scikit-build-core,
# build requirements from PyPI), then `pip install` of that wheel into a fresh venv, then, from a
# folder outside the source tree, `import llama3` (the installed copy) generating a few tokens
# greedily from a generated test model, which must equal `llama3 generate --temp 0` on the same
# model and prompt. Slow (the wheel compiles the core library from scratch): registered only with
# -DLLAMA3_PACKAGING_TESTS=ON, label `packaging`.
#   run_wheel_test.sh SOURCE_DIR WORK_DIR PYTHON LLAMA3_CLI MODEL.gguf
# Exits 77 (skipped) when the model is missing or PyPI cannot be reached.
set -euo pipefail
src=$1 work=$2 python=$3 cli=$4 model=$5
prompt="Once upon a time"
n_tokens=12
[ -f "$model" ] || { echo "skipped: missing $model" >&2; exit 77; }

rm -rf "$work"
mkdir -p "$work"
# A fresh venv: pip builds the wheel in an isolated environment of its own, so nothing but the
# wheel (and its dependency numpy) is ever installed here.
"$python" -m venv "$work/venv"

# One compile job per core (Ninja's own default is two more), unless the caller chose.
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
start=$SECONDS
status=0
"$work/venv/bin/python" -m pip wheel --no-deps --disable-pip-version-check -w "$work/dist" \
  -C build-dir="$work/skbuild" "$src" >"$work/wheel.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  if grep -qE "No matching distribution|Could not find a version|Failed to establish" "$work/wheel.log"; then
    echo "skipped: the build requirements could not be fetched from PyPI" >&2
    tail -5 "$work/wheel.log" >&2
    exit 77
  fi
  tail -40 "$work/wheel.log" >&2
  echo "FAIL: pip wheel exited with $status" >&2
  exit 1
fi
echo "wheel built in $((SECONDS - start)) s: $(basename "$work"/dist/llama3-*.whl)"

# The wheel holds the package and nothing of the C++ project (no headers, no libllama3.so).
"$python" - "$work"/dist/llama3-*.whl <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
files = [n for n in names if ".dist-info/" not in n]
extension = [n for n in files if n.startswith("llama3/_llama3") and n.endswith(".so")]
assert len(extension) == 1, f"expected one llama3/_llama3*.so, got {files}"
assert "llama3/__init__.py" in files, files
stray = [n for n in files if not n.startswith("llama3/")]
assert not stray, f"files outside the package: {stray}"
print("wheel contents:", " ".join(sorted(files)))
PY

"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$work"/dist/llama3-*.whl

# The CLI's greedy tokens and text (-o json: ids, and text with any split UTF-8 replaced, as the
# Python binding replaces it: a random-weight model may emit bytes that make no character).
"$cli" generate -m "$model" -p "$prompt" -n "$n_tokens" --temp 0 -o json >"$work/cli.json"
cd "$work"  # away from the source tree: only the installed package can be imported
"$work/venv/bin/python" - "$model" "$prompt" "$n_tokens" "$work/venv" "$work/cli.json" <<'PY'
import importlib.metadata, json, os, sys
import llama3
model_path, prompt, n_tokens, venv, cli_json = sys.argv[1:6]
where = os.path.realpath(llama3.__file__)
assert where.startswith(os.path.realpath(venv) + os.sep), f"imported {where}, not the venv's copy"
installed = importlib.metadata.version("llama3")
assert installed == llama3.__version__, f"wheel version {installed}, module {llama3.__version__}"
with llama3.Model(model_path) as model:
    session = model.session(n_ctx=128)
    stream = session.generate(prompt, sampler=llama3.Sampler(temperature=0.0),
                              max_tokens=int(n_tokens))
    text = "".join(stream)
    tokens = list(stream.tokens)
cli = json.load(open(cli_json, encoding="utf-8"))
assert tokens == cli["tokens"], f"the wheel generated {tokens}, the CLI {cli['tokens']}"
assert len(tokens) > 0
assert text == cli["text"], f"the wheel generated {text!r}, the CLI {cli['text']!r}"
print(f"llama3 {llama3.__version__} from {os.path.dirname(where)}: {len(tokens)} tokens, "
      f"as the CLI: {text!r}")
PY
echo "the installed wheel generates what the CLI does"
