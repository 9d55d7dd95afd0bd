#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test (C++ and Python).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
cd "${LLAMA3_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)" "$@"
# The aarch64 build and its quick kernel tests under emulation at each ARM level
# (scripts/test-aarch64.sh --kernels); LLAMA3_SKIP_AARCH64=1 leaves it out.
if [ -z "${LLAMA3_SKIP_AARCH64:-}" ]; then
  bash "$root/scripts/test-aarch64.sh" --kernels
fi
# Every libFuzzer target (fuzz/, a clang ASan/UBSan build in build-fuzz/) for a short budget after
# replaying the saved crashes in fuzz/regressions/; LLAMA3_FUZZ_SECONDS=0 leaves it out.
fuzz_seconds=${LLAMA3_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ] && [ $# -eq 0 ]; then
  status=0
  bash "$root/scripts/fuzz.sh" "$fuzz_seconds" || status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 77 ] || exit "$status"
fi
