#!/usr/bin/env bash
# Runs a program and checks that it exits 0 and that its standard output equals a reference file
# byte for byte. A crash or a sanitizer report after the text was printed fails the test too.
#   compare_output.sh REFERENCE PROGRAM ARGS...     (exit 77 when REFERENCE is missing)
set -euo pipefail
reference=$1
shift
if [ ! -f "$reference" ]; then
  echo "skipped: missing $reference (the reference text fixture was skipped)" >&2
  exit 77
fi
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
status=0
"$@" >"$actual" || status=$?
if [ "$status" -ne 0 ]; then
  echo "$* exited with status $status (its output: $(head -c 200 "$actual"))" >&2
  exit 1
fi
if ! diff "$actual" "$reference"; then
  echo "output of $* differs from $reference" >&2
  exit 1
fi
echo "output matches $reference"
