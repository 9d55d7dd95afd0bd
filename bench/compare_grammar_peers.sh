#!/usr/bin/env bash
# Token-mask times of our grammar engine beside llguidance's and xgrammar's (from PyPI, in venvs
# outside the repo) on the same seven JSON Schemas (tests/grammar/benchmark_schemas.hpp), the same
# vocabulary and the same walk protocol: grammar_bench, then bench/compare_grammar_peers.py once per
# peer.
#
#   bench/compare_grammar_peers.sh [--steps N] [--warmup-walks N]
# Env: PEER_VENV (llguidance; default /tmp/llama3-grammar-peers, made if missing), XGRAMMAR_VENV
# (default /tmp/llama3-grammar-xgrammar; xgrammar is run only if that venv exists, because its
# package imports torch and PyPI's torch wheels bring about 5 GB of CUDA libraries: make it with
#   python3 -m venv /tmp/llama3-grammar-xgrammar && /tmp/llama3-grammar-xgrammar/bin/pip install xgrammar
# ), VOCAB (default build/data/tokenizer.json), GRAMMAR_BENCH (default build/bin/grammar_bench).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${PEER_VENV:-/tmp/llama3-grammar-peers}
xgrammar_venv=${XGRAMMAR_VENV:-/tmp/llama3-grammar-xgrammar}
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
echo "== llguidance (mask = a bitmask, no logits row)"
"$venv/bin/python" "$root/bench/compare_grammar_peers.py" --peer llguidance --vocab "$vocab" \
  --steps "$steps" --warmup-walks "$warmup"
if [ -x "$xgrammar_venv/bin/python" ]; then
  echo "== xgrammar (mask = a bitmask, no logits row)"
  "$xgrammar_venv/bin/python" -W ignore "$root/bench/compare_grammar_peers.py" --peer xgrammar \
    --vocab "$vocab" --steps "$steps" --warmup-walks "$warmup"
else
  echo "== xgrammar: skipped (no $xgrammar_venv; see the comment at the top of $0)"
fi
