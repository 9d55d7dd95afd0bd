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
build=${LLAMA3_TSAN_BUILD_DIR:-$root/build-tsan}
jobs=${LLAMA3_BUILD_JOBS:-$(nproc)}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# The venv the Python binding is built for and its tests run with (pytest from PyPI; without it
# the Python part is reported as skipped).
bash "$root/scripts/python-env.sh" "$build" >/dev/null
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLLAMA3_SANITIZE=thread -DLLAMA3_MPI=OFF "${launcher[@]}" >/dev/null
fi
targets=(llama3_concurrency_tests make_test_model)
# (The Python extension exists when CMake found pybind11 and the venv.)
[ -d "$build/bindings/python/CMakeFiles/llama3_python.dir" ] && targets+=(llama3_python)
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
cd "$build"
ctest -L tsan --output-on-failure "$@"
