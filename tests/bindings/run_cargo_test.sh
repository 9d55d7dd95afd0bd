#!/usr/bin/env bash
# Runs the Rust binding's tests offline (no registry crates), with the target dir under the build dir.
# Exits 77 (skipped) when cargo is not installed.
#   run_cargo_test.sh WORKSPACE TARGET_DIR
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
exec cargo test --offline --locked -q
