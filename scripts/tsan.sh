#!/usr/bin/env bash
# Builds the C++ tests with ThreadSanitizer in build-tsan/ and runs the ones that use several
# threads at once (Catch2 tag [concurrency]: the kernels' thread pool, sessions sharing a Model,
# the engine's worker against threads that submit, poll and cancel, tokenizers shared by threads).
# Any report fails the run (halt_on_error). Not part of CI's default set: the build takes a while.
#   scripts/tsan.sh [extra ctest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LLAMA3_TSAN_BUILD_DIR:-$root/build-tsan}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLLAMA3_SANITIZE=thread -DLLAMA3_BUILD_PYTHON=OFF "${launcher[@]}" >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target llama3_tests make_test_model
cd "$build"
ctest -L tsan --output-on-failure "$@"
