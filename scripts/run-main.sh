#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and generates text with the default model
# (stories260K, fetched and sha256-checked by scripts/fetch-data.sh). Extra arguments go to
# `llama3 generate`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
build=${LLAMA3_BUILD_DIR:-$root/build}
bash "$root/scripts/fetch-data.sh" "$build/data"
LLAMA3_DATA_DIR="$build/data" "$build/bin/llama3" generate "$@"
