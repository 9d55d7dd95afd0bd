#!/usr/bin/env bash
# Builds the concurrency tests with ThreadSanitizer in build-tsan/ and runs them (ctest label
# `tsan`): llama3_concurrency_tests (Catch2 tag [concurrency]: the kernels' thread pool, sessions
# sharing a Model, the engine's worker against threads that submit, poll and cancel, tokenizers
# shared by threads, the server's slot gate and an in-process server answering several HTTP clients)
# and, when the Python binding can be built, Python's threaded tests (sessions streaming from
# several threads, an Engine fed by threads, a Guard shared by two threads) with libtsan preloaded
# into python. Only these targets are built, not the whole suite. Any report fails the run
# (halt_on_error). Not part of CI's default set: see docs/testing.md for how long it takes.
#   scripts/tsan.sh [extra ctest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib/sanitizer-build.sh"
build=${LLAMA3_TSAN_BUILD_DIR:-$root/build-tsan}
sanitizer_configure "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLAMA3_SANITIZE=thread
sanitizer_build "$build" llama3_concurrency_tests make_test_model
cd "$build"
ctest -L tsan --output-on-failure "$@"
