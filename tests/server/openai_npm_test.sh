#!/usr/bin/env bash
# ctest server_openai_npm: the official `openai` npm package (pinned, installed into WORK_DIR on
# first use) against `llama3 serve` on stories260K. Exits 77 (skipped) when node/npm, the package
# or the model cannot be had.
#   usage: openai_npm_test.sh WORK_DIR   (LLAMA3_BIN_DIR and LLAMA3_DATA_DIR from ctest)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1
version=6.30.1  # no engine restriction and no dependencies; runs on Debian 12's node
model=$LLAMA3_DATA_DIR/stories260K.gguf
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIPPED: node and npm are needed (scripts/install-deps.sh installs them)"; exit 77
fi
[ -f "$model" ] || { echo "SKIPPED: $model not found (scripts/fetch-data.sh)"; exit 77; }
mkdir -p "$work"
if [ "$(node -p "try{require('$work/node_modules/openai/package.json').version}catch(e){''}")" != "$version" ]; then
  if ! (cd "$work" && npm install --no-audit --no-fund --silent "openai@$version" >/dev/null); then
    echo "SKIPPED: npm could not install openai@$version"; exit 77
  fi
fi
# ES modules resolve packages from the script's own folder: run a copy beside node_modules.
cp "$here/openai_npm_client.mjs" "$work/"
expected=$("$LLAMA3_BIN_DIR/llama3" generate -m "$model" -p "Once upon a time" -n 40 --temp 0 -t 1 \
  -o json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).text))')
node "$work/openai_npm_client.mjs" "$LLAMA3_BIN_DIR/llama3" "$model" "$expected"
