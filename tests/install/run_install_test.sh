#!/usr/bin/env bash
# Installs the build into a scratch prefix and uses it as a system library would be used:
# - the prefix holds the headers, libllama3.so with its SONAME, the CMake package and llama3.pc,
#   and no internal header;
# - the README's C++ and C examples, extracted from README.md, are built with the README's own
#   pkg-config command lines exactly as printed, and with a CMake project (find_package(llama3));
# - every program runs on the model (linked to model.gguf, the name the examples use) and prints text;
# - docs/getting-started.md's Rust and Go programs build against the prefix through pkg-config (as
#   docs/rust.md and docs/go.md say) and print the CLI's greedy text (when cargo / go are installed).
#   run_install_test.sh SOURCE_DIR BUILD_DIR MODEL.gguf
set -euo pipefail
src=$1 build=$2 model=$3
[ -f "$model" ] || { echo "model $model not found: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

fail() { echo "FAIL: $*" >&2; exit 1; }
libdir=$(dirname "$(find "$prefix" -name 'libllama3.so' | head -1)")
[ -n "$libdir" ] && [ -f "$libdir/libllama3.so" ] || fail "no libllama3.so installed"
soname=$(readelf -d "$libdir/libllama3.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libllama3.so.0 ] || fail "SONAME is '$soname', expected libllama3.so.0"
[ -e "$libdir/libllama3.so.0" ] || fail "no $libdir/libllama3.so.0"
for f in include/llama3.h include/llama3/llama3.hpp include/llama3/model.hpp; do
  [ -f "$prefix/$f" ] || fail "$f not installed"
done
[ -f "$libdir/cmake/llama3/llama3Config.cmake" ] || fail "no CMake package"
[ -f "$libdir/pkgconfig/llama3.pc" ] || fail "no llama3.pc"
internal=$(find "$prefix/include" -type f ! -path '*/include/llama3.h' ! -path '*/include/llama3_mpi.h' \
  ! -path '*/include/llama3/*.hpp')
[ -z "$internal" ] || fail "internal files installed: $internal"
echo "installed: headers, $soname, CMake package, llama3.pc"

# The MPI variant of the library, when the build has it: a C program built through llama3_mpi.pc
# links it and runs (outside mpirun: llama3_mpi_launched() is 0, and a pipeline needs MPI running).
if [ -f "$build/lib/libllama3_mpi.so" ]; then
  [ -f "$libdir/pkgconfig/llama3_mpi.pc" ] && [ -e "$libdir/libllama3_mpi.so.0" ] &&
    [ -f "$prefix/include/llama3_mpi.h" ] || fail "libllama3_mpi.so, llama3_mpi.h or llama3_mpi.pc missing"
  cat >"$work/mpi_probe.c" <<'C'
#include <stdio.h>
#include "llama3.h"
#include "llama3_mpi.h"
int main(void) {
  llama3_pipeline* pipeline = NULL;
  const llama3_status status = llama3_pipeline_create("model.gguf", NULL, &pipeline);
  printf("%d %s %d\n", (int)llama3_mpi_launched(), llama3_status_name(status), pipeline == NULL);
  return 0;
}
C
  # shellcheck disable=SC2046
  cc -std=c99 -o "$work/mpi_probe" "$work/mpi_probe.c" \
    $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs llama3_mpi) ||
    fail "a C program did not build with llama3_mpi.pc"
  probe=$(LD_LIBRARY_PATH=$libdir "$work/mpi_probe") || fail "the llama3_mpi probe did not run"
  [ "$probe" = "0 invalid_argument 1" ] || fail "llama3_mpi probe printed '$probe'"
  echo "installed: libllama3_mpi.so and llama3_mpi.pc (a C program links and runs)"
fi

# The README's examples: the ```cpp and ```c blocks, and its pkg-config command lines.
python3 "$src/tests/support/extract_code_block.py" "$src/README.md" cpp "$work/main.cpp"
python3 "$src/tests/support/extract_code_block.py" "$src/README.md" c "$work/main.c"
python3 - "$src/README.md" "$work" <<'PY'
import pathlib, re, sys
readme = pathlib.Path(sys.argv[1]).read_text()
out = pathlib.Path(sys.argv[2])
commands = [line.strip() for line in readme.splitlines()
            if re.match(r"^\s+(g\+\+|cc) .*pkg-config", line)]
if len(commands) != 2:
    sys.exit(f"README.md has {len(commands)} pkg-config build lines, expected 2: {commands}")
(out / "commands.sh").write_text("\n".join(commands) + "\n")
PY
ln -s "$(realpath "$model")" "$work/model.gguf"
export PKG_CONFIG_PATH=$libdir/pkgconfig
export LD_LIBRARY_PATH=$libdir
run_example() {  # NAME: runs ./NAME in $work and checks it printed text
  local out
  out=$(cd "$work" && timeout 120 "./$1" 2>"$work/$1.err") || { cat "$work/$1.err" >&2; fail "$1 failed"; }
  [ "$(echo "$out" | wc -w)" -ge 5 ] || fail "$1 printed too little: '$out'"
  echo "$1: $(echo "$out" | head -c 80 | tr '\n' ' ')..."
}
echo "README build lines:"; cat "$work/commands.sh"
(cd "$work" && bash -e commands.sh) || fail "the README's pkg-config build lines failed"
for exe in $(sed -E 's/.* -o ([^ ]+).*/\1/' "$work/commands.sh"); do run_example "$exe"; done

cmake -S "$src/tests/install/consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DREADME_SOURCES="$work" >/dev/null || fail "find_package(llama3) consumer did not configure"
cmake --build "$work/cmake-build" >/dev/null || fail "find_package(llama3) consumer did not build"
cp "$work/cmake-build/readme_cpp" "$work/cmake-build/readme_c" "$work/"
run_example readme_cpp
run_example readme_c
echo "the installed library serves C and C++ through pkg-config and CMake"

# Rust and Go link the installed library the way docs/rust.md and docs/go.md say ("Linking an
# installed library"): through the installed llama3.pc (PKG_CONFIG_PATH above), nothing pointing
# into the build tree. The programs are docs/getting-started.md's, which print the CLI's greedy text.
expected=$("$build/bin/llama3" generate -m "$model" -p "Once upon a time" -n 32 --temp 0)
extract() {  # LANGUAGE FILE
  python3 "$src/tests/support/extract_code_block.py" "$src/docs/getting-started.md" "$1" "$2"
}
check_greedy() {  # NAME PROGRAM
  local out
  out=$(timeout 120 "$2" "$model") || fail "$1 failed"
  [ "$out" = "$expected" ] || fail "$1 printed '$out', the CLI '$expected'"
  echo "$1: prints the CLI's greedy text"
}
[ -x "$HOME/.cargo/bin/cargo" ] && PATH="$HOME/.cargo/bin:$PATH"
if command -v cargo >/dev/null 2>&1; then
  mkdir -p "$work/rust/src"
  extract rust "$work/rust/src/main.rs"
  printf '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nllama3 = { path = "%s" }\n\n[workspace]\n' \
    "$src/bindings/rust/llama3" >"$work/rust/Cargo.toml"
  (cd "$work/rust" && env -u LLAMA3_LIB_DIR CARGO_TARGET_DIR="$work/rust/target" \
    cargo build --offline -q) || fail "the Rust program did not build against the installed library"
  check_greedy "Rust (pkg-config)" "$work/rust/target/debug/hello"
else
  echo "Rust: not checked (no cargo)"
fi
if command -v go >/dev/null 2>&1; then
  mkdir -p "$work/go"
  extract go "$work/go/main.go"
  printf 'module hello\n\ngo 1.19\n\nrequire llama3.dev/llama3 v0.0.0\n\nreplace llama3.dev/llama3 => %s\n' \
    "$src/bindings/go" >"$work/go/go.mod"
  (cd "$work/go" && GOCACHE="$build/binding_tests/go/cache" GOPATH="$build/binding_tests/go/path" \
    GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=1 \
    CGO_CFLAGS="$(pkg-config --cflags llama3)" CGO_LDFLAGS="$(pkg-config --libs llama3)" \
    go build -o hello .) || fail "the Go program did not build against the installed library"
  check_greedy "Go (pkg-config)" "$work/go/hello"
else
  echo "Go: not checked (no go)"
fi
