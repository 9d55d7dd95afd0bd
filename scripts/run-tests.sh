#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test (C++ and Python).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Each phase's wall time goes to stderr, so a slow CI run shows where its minutes went.
phase_start=$SECONDS
phase_done() {
  echo "run-tests: $1 took $((SECONDS - phase_start)) s" >&2
  phase_start=$SECONDS
}
bash "$root/scripts/install-deps.sh"
phase_done "installing dependencies"
bash "$root/scripts/build.sh"
phase_done "building"
cd "${LLAMA3_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)" "$@"
phase_done "ctest"
# The aarch64 build and its quick kernel tests under emulation at each ARM level
# (scripts/test-aarch64.sh --kernels); LLAMA3_SKIP_AARCH64=1 leaves it out.
if [ -z "${LLAMA3_SKIP_AARCH64:-}" ]; then
  bash "$root/scripts/test-aarch64.sh" --kernels
  phase_done "the aarch64 build and tests"
fi
# Every libFuzzer target (fuzz/, a clang ASan/UBSan build in build-fuzz/) for a short budget after
# replaying the saved crashes in fuzz/regressions/; LLAMA3_FUZZ_SECONDS=0 leaves it out.
fuzz_seconds=${LLAMA3_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ] && [ $# -eq 0 ]; then
  status=0
  bash "$root/scripts/fuzz.sh" "$fuzz_seconds" || status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 77 ] || exit "$status"
  phase_done "fuzzing"
fi
