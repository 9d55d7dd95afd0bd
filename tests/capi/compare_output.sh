#!/usr/bin/env bash
# Runs a program and checks its standard output equals a reference file byte for byte.
#   compare_output.sh REFERENCE PROGRAM ARGS...     (exit 77 when REFERENCE is missing)
set -euo pipefail
reference=$1
shift
if [ ! -f "$reference" ]; then
  echo "skipped: missing $reference (the reference text fixture was skipped)" >&2
  exit 77
fi
actual=$("$@"; printf x)
actual=${actual%x}
if ! diff <(printf '%s' "$actual") "$reference"; then
  echo "output of $* differs from $reference" >&2
  exit 1
fi
echo "output matches $reference"
