#!/usr/bin/env bash
# Runs the Go binding's tests (cgo against libllama3.so); caches under the build dir.
# Exits 77 (skipped) when go is not installed.
#   run_go_test.sh PACKAGE_DIR CAPI_DIR LIB_DIR CACHE_DIR
# With LLAMA3_TEST_PRELOAD set (scripts/asan-bindings.sh: the sanitizer runtime that libllama3.so
# was built with), the test binary is built first and then runs with that library preloaded, so
# that the sanitizer watches the tests and not the go tool.
set -euo pipefail
source "$(dirname "$0")/require_test_data.sh"
package=$1 capi=$2 lib=$3 cache=$4
if ! command -v go >/dev/null 2>&1; then
  echo "skipped: go is not installed (apt-get install golang-go)" >&2
  exit 77
fi
export GOCACHE=$cache/cache GOPATH=$cache/path GOFLAGS=-mod=mod GOTOOLCHAIN=local
export CGO_ENABLED=1 CGO_CFLAGS="-I$capi" CGO_LDFLAGS="-L$lib" LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$package"
if [ -z "${LLAMA3_TEST_PRELOAD:-}" ]; then
  exec go test -count=1 -v .
fi
preload=$LLAMA3_TEST_PRELOAD
unset LLAMA3_TEST_PRELOAD
mkdir -p "$cache"
go test -c -o "$cache/llama3.test" .
LD_PRELOAD=$preload exec "$cache/llama3.test" -test.count=1 -test.v
