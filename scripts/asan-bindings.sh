#!/usr/bin/env bash
# Builds the library, its C ABI (libllama3.so) and the Python extension with AddressSanitizer and
# UBSan in build-asan/, then runs the Python, Rust and Go binding tests over them (ctest label
# `asan_bindings`; the ASan runtime is preloaded into python and into the Rust and Go test binaries,
# see tests/bindings/CMakeLists.txt). Any report fails the run. Opt-in, not part of CI's default
# set: see docs/testing.md for how long it takes.
#   scripts/asan-bindings.sh [extra ctest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib/sanitizer-build.sh"
build=${LLAMA3_ASAN_BUILD_DIR:-$root/build-asan}
# -O1 keeps the build and the instrumented run reasonably fast; line tables keep reports readable.
# (g++ 12 warns falsely of uninitialized members in std::regex and std::function under ASan.)
sanitizer_configure "$build" -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_C_FLAGS="-O1 -g1" -DCMAKE_CXX_FLAGS="-O1 -g1 -Wno-maybe-uninitialized" \
  -DLLAMA3_SANITIZE=address,undefined
sanitizer_build "$build" llama3_c llama3_cli make_test_model
bash "$root/scripts/fetch-data.sh" "$build/data" >/dev/null
cd "$build"
ctest -L asan_bindings --output-on-failure "$@"
