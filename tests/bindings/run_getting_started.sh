#!/usr/bin/env bash
# docs/getting-started.md's first program in one language, cut out of the page as printed, built
# against the build tree, run on the model, and compared byte for byte with the CLI's greedy output
# (`llama3 generate -p "Once upon a time" -n 32 --temp 0`), which the page says each program prints.
#   run_getting_started.sh LANGUAGE SOURCE_DIR BUILD_DIR MODEL.gguf WORK_DIR
# LANGUAGE: cpp, c, python, rust or go. Exits 77 (skipped) when the model or the language's
# toolchain is missing.
set -euo pipefail
language=$1 src=$2 build=$3 model=$4 work=$5
[ -f "$model" ] || { echo "skipped: missing $model" >&2; exit 77; }
page=$src/docs/getting-started.md
lib=$build/lib
rm -rf "$work"
mkdir -p "$work"
extract() {  # FILE: the page's block of $language
  python3 "$src/tests/support/extract_code_block.py" "$page" "$language" "$1"
}
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

case $language in
  cpp)
    extract "$work/main.cpp"
    "${CXX:-c++}" -std=c++20 -Wall -Wextra -Wpedantic -Werror "$work/main.cpp" -I"$src/include" \
      -L"$lib" -lllama3 -o "$work/hello"
    run=("$work/hello")
    ;;
  c)
    extract "$work/main.c"
    "${CC:-cc}" -std=c99 -Wall -Wextra -Wpedantic -Werror "$work/main.c" -I"$src/capi" -L"$lib" \
      -lllama3 -o "$work/hello"
    run=("$work/hello")
    ;;
  python)
    extract "$work/hello.py"
    export PYTHONPATH=$build/python
    run=("${LLAMA3_TEST_PYTHON:-python3}" "$work/hello.py")
    ;;
  rust)
    [ -x "$HOME/.cargo/bin/cargo" ] && PATH="$HOME/.cargo/bin:$PATH"
    command -v cargo >/dev/null 2>&1 || { echo "skipped: cargo is not installed" >&2; exit 77; }
    mkdir -p "$work/src"
    extract "$work/src/main.rs"
    cat >"$work/Cargo.toml" <<EOF
[package]
name = "hello"
version = "0.1.0"
edition = "2021"

[dependencies]
llama3 = { path = "$src/bindings/rust/llama3" }

[workspace]
EOF
    # The binding's compiled crates are shared with the rust_binding test's target folder.
    (cd "$work" && LLAMA3_LIB_DIR=$lib CARGO_TARGET_DIR=$build/binding_tests/rust-target \
      cargo build --offline -q)
    run=("$build/binding_tests/rust-target/debug/hello")
    ;;
  go)
    command -v go >/dev/null 2>&1 || { echo "skipped: go is not installed" >&2; exit 77; }
    extract "$work/main.go"
    printf 'module hello\n\ngo 1.19\n\nrequire llama3.dev/llama3 v0.0.0\n\nreplace llama3.dev/llama3 => %s\n' \
      "$src/bindings/go" >"$work/go.mod"
    (cd "$work" && GOCACHE=$build/binding_tests/go/cache GOPATH=$build/binding_tests/go/path \
      GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=1 CGO_CFLAGS="-I$src/capi" \
      CGO_LDFLAGS="-L$lib" go build -o hello .)
    run=("$work/hello")
    ;;
  *)
    echo "unknown language '$language'" >&2
    exit 2
    ;;
esac

"$build/bin/llama3" generate -m "$model" -p "Once upon a time" -n 32 --temp 0 >"$work/expected.txt"
"${run[@]}" "$model" >"$work/actual.txt"
if ! cmp -s "$work/actual.txt" "$work/expected.txt"; then
  echo "FAIL: the $language example printed:" >&2
  cat "$work/actual.txt" >&2
  echo "the CLI printed:" >&2
  cat "$work/expected.txt" >&2
  exit 1
fi
echo "the $language example prints what the CLI does: $(cat "$work/actual.txt")"
