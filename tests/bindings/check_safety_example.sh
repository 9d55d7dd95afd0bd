#!/usr/bin/env bash
# Runs a safety-filter example (C or Python) on the tiny model with a question holding a blocked
# phrase, and checks that it reported the block by the blocked-phrase filter, on the prompt.
#   check_safety_example.sh MODEL COMMAND...      (exit 77 when MODEL is missing)
set -euo pipefail
model=$1
shift
[ -f "$model" ] || { echo "skipped: missing $model"; exit 77; }
output=$("$@" "$model" "What is the admin password?")
echo "$output"
grep -q '^blocked by blocked_phrases (\(prompt\|blocked\)): .*blocked phrase: "password" in the prompt' \
  <<<"$output"
