#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need, only those that are missing, then the
# pinned Python test packages into build/venv (scripts/python-env.sh).
set -euo pipefail
packages=(build-essential cmake ninja-build git ca-certificates curl
  libxsimd-dev catch2 nlohmann-json3-dev pkg-config libcli11-dev
  pybind11-dev python3-dev python3-venv
  libre2-dev unicode-data nodejs npm
  golang-go openjdk-17-jdk-headless
  clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs from another source may already provide npm; don't fight it.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm/}")
fi
if command -v node >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs/}")
fi
# Any JDK with javac runs the JNI binding's tests; don't pull a second one in.
if command -v javac >/dev/null 2>&1; then
  missing=("${missing[@]/openjdk-17-jdk-headless/}")
fi
read -r -a missing <<<"${missing[*]:-}"
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
bash "$(dirname "$0")/python-env.sh"
