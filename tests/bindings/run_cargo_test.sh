#!/usr/bin/env bash
# Runs the Rust binding's tests offline (no registry crates), with the target dir under the build dir.
# Exits 77 (skipped) when cargo is not installed.
#   run_cargo_test.sh WORKSPACE TARGET_DIR
# With LLAMA3_TEST_PRELOAD set (scripts/asan-bindings.sh: the sanitizer runtime that libllama3.so
# was built with), cargo builds the tests as usual and each test binary then runs with that library
# preloaded, so that the sanitizer watches the tests and not cargo and rustc.
set -euo pipefail
source "$(dirname "$0")/require_test_data.sh"
workspace=$1
export CARGO_TARGET_DIR=$2
[ -x "$HOME/.cargo/bin/cargo" ] && PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null 2>&1; then
  echo "skipped: cargo is not installed" >&2
  exit 77
fi
cd "$workspace"
if [ -z "${LLAMA3_TEST_PRELOAD:-}" ]; then
  exec cargo test --offline --locked -q
fi
preload=$LLAMA3_TEST_PRELOAD
unset LLAMA3_TEST_PRELOAD
binaries=$(cargo test --offline --locked -q --no-run --message-format=json |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])')
[ -n "$binaries" ] || { echo "run_cargo_test: cargo built no test binary" >&2; exit 1; }
for binary in $binaries; do
  echo "== $binary (LD_PRELOAD=$preload)"
  LD_PRELOAD=$preload "$binary" -q
done
