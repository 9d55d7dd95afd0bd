#!/usr/bin/env bash
# Installs the pinned npm test packages (node-test-packages.txt) into BUILD_DIR/node/node_modules,
# where the Node tests look for them. Idempotent: a stamp holding the list's sha256 skips the work
# when nothing changed. When npm or the registry cannot be reached nothing is installed and the
# tests that need a package report themselves skipped (exit 77).
#   usage: node-env.sh [BUILD_DIR]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
list=$here/node-test-packages.txt
build=${1:-${LLAMA3_BUILD_DIR:-$root/build}}
prefix=$build/node
stamp=$prefix/.node-test-packages.sha256

if ! command -v npm >/dev/null 2>&1; then
  echo "node-env: npm not found (Debian: apt-get install npm); Node tests will be skipped" >&2
  exit 0
fi
sum=$(sha256sum "$list" | cut -d' ' -f1)
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && exit 0
mapfile -t packages < <(grep -v '^\s*\(#\|$\)' "$list")
mkdir -p "$prefix"
# A package.json of its own keeps npm from walking up into the repository.
[ -f "$prefix/package.json" ] || echo '{"private": true}' >"$prefix/package.json"
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing anyway; the tests use the
# system's chromium.
if PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install -q --prefix "$prefix" --no-audit --no-fund \
    --save-exact "${packages[@]}" >/dev/null; then
  echo "$sum" >"$stamp"
else
  echo "node-env: could not install ${packages[*]}; the tests that need them will be skipped" >&2
fi
exit 0
