#!/usr/bin/env bash
# Token-mask times of our grammar engine beside llguidance's (from PyPI, in a venv outside the repo)
# on the same seven JSON Schemas (tests/grammar/benchmark_schemas.hpp), the same vocabulary and the
# same walk protocol: grammar_bench, then bench/compare_grammar_peers.py.
#
#   bench/compare_grammar_peers.sh [--steps N] [--warmup-walks N]
# Env: PEER_VENV (default /tmp/llama3-grammar-peers), VOCAB (default build/data/tokenizer.json),
# GRAMMAR_BENCH (default build/bin/grammar_bench).
# xgrammar is not included: its Python package requires torch, whose PyPI wheels pull in gigabytes
# of CUDA libraries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${PEER_VENV:-/tmp/llama3-grammar-peers}
vocab=${VOCAB:-$root/build/data/tokenizer.json}
ours=${GRAMMAR_BENCH:-$root/build/bin/grammar_bench}
steps=1000 warmup=200
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --warmup-walks) warmup=$2; shift 2 ;;
    *) echo "usage: $0 [--steps N] [--warmup-walks N]" >&2; exit 2 ;;
  esac
done
[ -x "$ours" ] || { echo "no $ours: build the grammar_bench target first" >&2; exit 2; }
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet llguidance numpy
fi
echo "== llama3 (grammar_bench; mask = mask_logits() over the logits row)"
"$ours" --vocab "$vocab" --steps "$steps" --warmup-walks "$warmup"
echo "== peer (mask = a bitmask, no logits row)"
"$venv/bin/python" "$root/bench/compare_grammar_peers.py" --vocab "$vocab" --steps "$steps" \
  --warmup-walks "$warmup"
