#!/usr/bin/env bash
# The dynamic symbols libllama3.so defines must be exactly the committed list (capi/llama3.symbols):
# adding or losing an exported symbol is an ABI change that has to be made on purpose.
#   check_symbols.sh LIBRARY SYMBOL_LIST
set -euo pipefail
lib=$1
expected=$2
actual=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v '^LLAMA3_[0-9]' | LC_ALL=C sort -u)
if ! diff -u <(grep -v '^#' "$expected" | LC_ALL=C sort -u) <(echo "$actual"); then
  echo "exported symbols of $lib differ from $expected (- expected, + exported)" >&2
  exit 1
fi
echo "$(echo "$actual" | wc -l) exported symbols match $expected"
