#!/usr/bin/env bash
# Creates BUILD_DIR/venv from the default `python3` and installs the pinned test packages
# (requirements-test.txt). CMake builds the Python binding
# for this venv's interpreter and runs every Python test with it. Idempotent: a stamp holding the
# requirements' sha256 skips the work when nothing changed. When PyPI cannot be reached the venv is
# left without the package, and the tests that import it are reported as skipped (exit 77).
#   usage: python-env.sh [BUILD_DIR]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
files=("$here/requirements-test.txt")
build=${1:-${LLAMA3_BUILD_DIR:-$root/build}}
venv=$build/venv
python=${LLAMA3_PYTHON_BASE:-python3}

if [ ! -x "$venv/bin/python3" ]; then
  mkdir -p "$build"
  if ! "$python" -m venv "$venv"; then
    echo "python-env: '$python -m venv' failed (Debian: apt-get install python3-venv);" \
         "Python tests that need packages will be skipped" >&2
    rm -rf "$venv"
    exit 0
  fi
fi
for f in "${files[@]}"; do
  stamp=$venv/.$(basename "$f").sha256
  sum=$(sha256sum "$f" | cut -d' ' -f1)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && continue
  if "$venv/bin/python3" -m pip install -q --disable-pip-version-check -r "$f"; then
    echo "$sum" >"$stamp"
  else
    echo "python-env: could not install $(basename "$f"); the tests that need it will be skipped" >&2
  fi
done
exit 0
