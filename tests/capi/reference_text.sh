#!/usr/bin/env bash
# Writes the reference generation every binding test compares against: what the C++ API (through the
# `llama3 generate` command) produces for the shared model, prompt, length, seed and temperature.
#   reference_text.sh LLAMA3_CLI MODEL PROMPT N SEED TEMP OUT     (exit 77 when MODEL is missing)
set -euo pipefail
cli=$1 model=$2 prompt=$3 n=$4 seed=$5 temp=$6 out=$7
if [ ! -f "$model" ]; then
  echo "skipped: missing $model" >&2
  exit 77
fi
mkdir -p "$(dirname "$out")"
"$cli" generate -m "$model" -p "$prompt" -n "$n" --seed "$seed" --temp "$temp" >"$out.tmp"
mv "$out.tmp" "$out"
echo "reference: $(cat "$out")"
