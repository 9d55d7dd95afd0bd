#!/usr/bin/env bash
# Instructions per token of one matrix-vector product at each aarch64 level, counted under
# qemu-aarch64 with a small TCG plugin (bench/qemu_instruction_count.c). Counts, not times:
# emulated time says nothing about a real CPU. Needs the cross build of scripts/test-aarch64.sh.
#   scripts/count-arm-instructions.sh [types=q4_0,q8_0] [rows=2048] [cols=2048]
# Prints a table; each count is (count with 11 products - count with 1) / 10, so packing and
# start-up are left out.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LLAMA3_AARCH64_BUILD_DIR:-$root/build-aarch64}
types=${1:-q4_0,q8_0}
rows=${2:-2048}
cols=${3:-2048}
cmake --build "$build" --target matvec_repeat_probe >/dev/null
prefix=$(bash "$root/scripts/qemu-aarch64-prefix.sh")
plugin=$build/qemu_instruction_count.so
cc -shared -fPIC -O2 -Wall -Wextra -o "$plugin" "$root/bench/qemu_instruction_count.c"
count() { # type arch repeats
  LLAMA3_ARCH=$2 qemu-aarch64 -cpu max -L "$prefix" -plugin "$plugin" -d plugin \
    "$build/bin/matvec_repeat_probe" "$1" "$3" "$rows" "$cols" 2>&1 |
    sed -n 's/^instructions //p'
}
echo "| type | rows x cols | arch | instructions per token |"
echo "|---|---|---|---|"
for type in ${types//,/ }; do
  for arch in scalar neon dotprod; do
    one=$(count "$type" "$arch" 1)
    eleven=$(count "$type" "$arch" 11)
    echo "| $type | ${rows}x${cols} | $arch | $(((eleven - one) / 10)) |"
  done
done
