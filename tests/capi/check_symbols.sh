#!/usr/bin/env bash
# What libllama3.so exports is exactly what it means to:
# - the C ABI: the dynamic C symbols must be exactly the committed list (capi/llama3.symbols), since
#   adding or losing one is an ABI change that has to be made on purpose;
# - the C++ API: every exported C++ symbol names something of namespace llama3 that the public
#   headers declare, never an internal namespace (llama3::detail, llama3::io, llama3::kernels, ...).
#   check_symbols.sh LIBRARY SYMBOL_LIST
set -euo pipefail
lib=$1
expected=$2
defined=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v '^LLAMA3_[0-9]' | LC_ALL=C sort -u)
c_symbols=$(echo "$defined" | grep -v '^_Z' || true)
if ! diff -u <(grep -v '^#' "$expected" | LC_ALL=C sort -u) <(echo "$c_symbols"); then
  echo "exported C symbols of $lib differ from $expected (- expected, + exported)" >&2
  exit 1
fi
cxx_symbols=$(echo "$defined" | grep '^_Z' | c++filt || true)
# The qualified name of each (before its parameter list), with "typeinfo for " and the like dropped.
names=$(echo "$cxx_symbols" | sed -E 's/^(typeinfo name for|typeinfo for|vtable for) //; s/\(.*//')
outside=$(echo "$names" | grep -v '^llama3::' || true)
internal=$(echo "$names" | grep -E '^llama3::[a-z_0-9]+::' || true)
if [ -n "$outside$internal" ]; then
  echo "libllama3.so exports C++ names outside the public API:" >&2
  printf '%s\n' "$outside" "$internal" | grep -v '^$' >&2
  exit 1
fi
for needed in 'llama3::Model::load' 'typeinfo for llama3::Error'; do
  echo "$cxx_symbols" | grep -qF "$needed" || { echo "libllama3.so does not export $needed" >&2; exit 1; }
done
echo "$(echo "$c_symbols" | wc -l) exported C symbols match $expected;" \
  "$(echo "$cxx_symbols" | wc -l) exported C++ symbols, all of the public API"
