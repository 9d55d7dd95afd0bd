# Sourced by the sanitizer scripts (scripts/asan-bindings.sh, scripts/tsan.sh): the one way they
# configure and build their own tree. Not a program of its own.
#   sanitizer_configure BUILD_DIR CMAKE_OPTION...  creates BUILD_DIR's venv, configures BUILD_DIR once
#   sanitizer_build BUILD_DIR TARGET...            builds the targets (and the Python extension)
# LLAMA3_BUILD_JOBS sets the build's parallelism (default: every core).

sanitizer_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

sanitizer_configure() {
  local build=$1
  shift
  # The venv the Python binding is built for and its tests run with (pytest from PyPI; without it
  # the Python tests are reported as skipped).
  bash "$sanitizer_root/scripts/python-env.sh" "$build" >/dev/null
  # Configured once: later runs keep the tree's options and rebuild only what changed.
  [ -f "$build/CMakeCache.txt" ] && return 0
  local options=(-DLLAMA3_MPI=OFF)
  command -v ninja >/dev/null && options+=(-G Ninja)
  command -v ccache >/dev/null &&
    options+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$sanitizer_root" -B "$build" "${options[@]}" "$@" >/dev/null
}

sanitizer_build() {
  local build=$1
  shift
  local targets=("$@")
  # (The Python extension exists when CMake found pybind11 and the venv.)
  [ -d "$build/bindings/python/CMakeFiles/llama3_python.dir" ] && targets+=(llama3_python)
  cmake --build "$build" -j "${LLAMA3_BUILD_JOBS:-$(nproc)}" --target "${targets[@]}"
}
