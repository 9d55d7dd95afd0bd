#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test (C++ and Python).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
cd "${LLAMA3_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)" "$@"
