#!/usr/bin/env bash
# Cross-builds the library and its C++ tests for aarch64 (cmake/toolchains/aarch64-linux-gnu.cmake,
# Debian's g++-aarch64-linux-gnu) into build-aarch64/ (or $LLAMA3_AARCH64_BUILD_DIR) and runs the
# Catch2 suite under qemu-aarch64 (Debian's qemu-user), once per emulated CPU:
#   max         every extension qemu has (dotprod, i8mm, SVE): the levels scalar, neon, dotprod, i8mm
#   cortex-a53  ARMv8.0 with plain NEON: the levels scalar and neon
# Every kernel test runs each level the emulated CPU has against the scalar reference.
#
# usage: scripts/test-aarch64.sh [--kernels] [extra Catch2 test spec...]
#   (no spec)  every test case, at each CPU (the tiktoken comparison only with a host Python
#              that has tiktoken, see below)
#   --kernels  CI's subset: builds only llama3_kernel_tests (the kernel tests and the stories260K
#              text tests) instead of the whole suite and its tools, and runs all of them but
#              the slow perplexity (below); `--kernels "*"` runs that too
#
# What cannot run here, and why (docs/android.md, "Testing on this machine"):
#   - Python, Rust, Go and Java binding tests: the host's interpreters and JVM cannot load an
#     aarch64 library (the bindings are not built in this tree; the JNI library is).
# Tools the tests start (test-model generators, the CLI) are aarch64 programs: the script points
# LLAMA3_BIN_DIR at small wrappers that start each under the same emulator.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LLAMA3_AARCH64_BUILD_DIR:-$root/build-aarch64}
subset=all
if [ "${1:-}" = "--kernels" ]; then
  subset=kernels
  shift
fi

for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "test-aarch64: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
[ -f /usr/lib/aarch64-linux-gnu/libre2.so ] ||
  { echo "test-aarch64: libre2-dev:arm64 missing (scripts/install-deps.sh)" >&2; exit 1; }

if [ ! -f "$build/CMakeCache.txt" ]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  launcher=()
  command -v ccache >/dev/null 2>&1 &&
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$root" -B "$build" "${generator[@]}" "${launcher[@]}" \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DLLAMA3_WERROR=ON -DLLAMA3_BUILD_PYTHON=OFF
fi
jobs=${LLAMA3_JOBS:-$(nproc)}
tests=llama3_tests
jni=false
[ -d "$build/bindings/android" ] && jni=true  # the JNI library (CMake found a JDK's jni.h)
if [ "$subset" = kernels ]; then
  tests=llama3_kernel_tests
  targets=($tests)
  $jni && targets+=(llama3_jni)
  cmake --build "$build" -j "$jobs" --target "${targets[@]}"
else
  cmake --build "$build" -j "$jobs"
fi

# The Android layer's arm64 library: an aarch64 ELF exporting one Java_ symbol per native method
# of the Java classes, staged as an AAR's jni/arm64-v8a/ with the libraries it needs.
if $jni; then
  python3 "$root/tests/bindings/check_jni_library.py" arm64-v8a "$build/lib" \
    "$root/bindings/android/src/main/java" /usr/lib/aarch64-linux-gnu
else
  echo "test-aarch64: no JDK headers, so no JNI library to check"
fi

# Wrappers that run the aarch64 tools under the emulator (qemu-user does not start foreign
# programs by itself without binfmt_misc, which a container rarely has).
wrappers=$build/qemu-bin
mkdir -p "$wrappers"
prefix=$(bash "$root/scripts/qemu-aarch64-prefix.sh")
for program in "$build"/bin/*; do
  [ -f "$program" ] && [ -x "$program" ] || continue
  printf '#!/bin/sh\nexec qemu-aarch64 -L %s "%s" "$@"\n' "$prefix" "$program" \
    >"$wrappers/$(basename "$program")"
  chmod +x "$wrappers/$(basename "$program")"
done

spec=("$@")
# Reference scripts (tiktoken's encoder, the JSON Schema checker) run on the host's Python: the
# emulated tests start host programs like any other. The x86 build's environment has the packages
# (scripts/python-env.sh); without it the tiktoken comparison would exit 77 (a skip), which ends a
# one-process run of the whole suite, so it is left out then, with a note.
host_python=${LLAMA3_BUILD_DIR:-$root/build}/venv/bin/python3
if [ -x "$host_python" ] && "$host_python" -c 'import tiktoken' 2>/dev/null; then
  export LLAMA3_TEST_PYTHON=$host_python
elif [ "$subset" = all ] && [ $# -eq 0 ]; then
  echo "test-aarch64: no host Python with tiktoken ($host_python): the tiktoken comparison is left out"
  spec=("~[tiktoken]")
fi
if [ "$subset" = kernels ] && [ $# -eq 0 ]; then
  # Every kernel test at each ARM level against the scalar reference, the matmul sweeps on a
  # 2-thread pool, the dot-product vs NEON comparison and stories260K's text. Only the
  # 1,794-token perplexity is left to the full run: emulated, it takes minutes on its own.
  spec=("~stories260K perplexity*")
fi

status=0
for cpu in max cortex-a53; do
  echo "test-aarch64: qemu-aarch64 -cpu $cpu"
  if ! LLAMA3_DATA_DIR="$build/data" LLAMA3_BIN_DIR="$wrappers" QEMU_CPU=$cpu \
    qemu-aarch64 -L "$prefix" "$build/tests/$tests" "${spec[@]}"; then
    echo "test-aarch64: FAILED on -cpu $cpu" >&2
    status=1
  fi
done
exit $status
