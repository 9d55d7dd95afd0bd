#!/usr/bin/env bash
# Builds the library, its C ABI (libllama3.so) and the Python extension with AddressSanitizer and
# UBSan in build-asan/, then runs the Python, Rust and Go binding tests over them (ctest label
# `asan_bindings`; the ASan runtime is preloaded into python and into the Rust and Go test binaries,
# see tests/bindings/CMakeLists.txt). Any report fails the run. Opt-in, not part of CI's default
# set: see docs/testing.md for how long it takes.
#   scripts/asan-bindings.sh [extra ctest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LLAMA3_ASAN_BUILD_DIR:-$root/build-asan}
jobs=${LLAMA3_BUILD_JOBS:-$(nproc)}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# The venv the Python binding is built for and its tests run with.
bash "$root/scripts/python-env.sh" "$build" >/dev/null
if [ ! -f "$build/CMakeCache.txt" ]; then
  # -O1 keeps the build and the instrumented run reasonably fast; line tables keep reports readable.
  # (g++ 12 warns falsely of uninitialized members in std::regex and std::function under ASan.)
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_C_FLAGS="-O1 -g1" -DCMAKE_CXX_FLAGS="-O1 -g1 -Wno-maybe-uninitialized" \
    -DLLAMA3_SANITIZE=address,undefined -DLLAMA3_MPI=OFF "${launcher[@]}" >/dev/null
fi
targets=(llama3_c llama3_cli make_test_model)
# (The Python extension exists when CMake found pybind11 and the venv.)
[ -d "$build/bindings/python/CMakeFiles/llama3_python.dir" ] && targets+=(llama3_python)
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
bash "$root/scripts/fetch-data.sh" "$build/data" >/dev/null
cd "$build"
ctest -L asan_bindings --output-on-failure "$@"
