#!/usr/bin/env bash
# Runs examples/python/chat.py for two turns on a tiny model (random weights: the text is noise; the
# test checks the program runs the dialog through and prints a reply).
#   run_chat_example.sh PYTHON CHAT_PY MODEL     (exit 77 when MODEL is missing)
set -euo pipefail
python=$1 chat=$2 model=$3
if [ ! -f "$model" ]; then
  echo "skipped: missing $model" >&2
  exit 77
fi
out=$(printf 'Hello\nTell me more\n' | "$python" "$chat" "$model" --max-tokens 8)
printf '%s\n' "$out"
[ -n "$out" ]
