#!/usr/bin/env bash
# Creates BUILD_DIR/venv-torch from the default `python3` with the pinned packages of
# requirements-torch.txt (torch, transformers, safetensors), for the opt-in `ctest -L torch` check.
# Never run by CI's default set: torch and its CUDA libraries are a ~2.5 GB download. Installed
# with --no-deps, so only the libraries a CPU forward pass loads come in. Idempotent (a stamp holds
# the requirements' sha256). Exits nonzero when the install fails.
#   usage: torch-env.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-${LLAMA3_BUILD_DIR:-$root/build}}
venv=$build/venv-torch
requirements=$here/requirements-torch.txt
python=${LLAMA3_PYTHON_BASE:-python3}

[ -x "$venv/bin/python3" ] || "$python" -m venv "$venv"
stamp=$venv/.requirements-torch.sha256
sum=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  "$venv/bin/python3" -m pip install -q --disable-pip-version-check --no-deps -r "$requirements"
  echo "$sum" >"$stamp"
fi
