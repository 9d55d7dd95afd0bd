#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need, only those that are missing, then the
# pinned Python test packages into build/venv (scripts/python-env.sh) and the pinned npm test packages
# into build/node (scripts/node-env.sh).
set -euo pipefail
packages=(build-essential cmake ninja-build git ca-certificates curl
  libxsimd-dev catch2 nlohmann-json3-dev pkg-config libcli11-dev
  pybind11-dev python3-dev python3-venv
  libre2-dev libcpp-httplib-dev unicode-data nodejs npm
  libopenmpi-dev openmpi-bin
  golang-go openjdk-17-jdk-headless
  chromium
  g++-aarch64-linux-gnu qemu-user
  clang libclang-rt-14-dev)
# The aarch64 cross build (scripts/test-aarch64.sh) links Debian's arm64 libraries (multiarch).
arm64_packages=(libre2-dev:arm64 libxsimd-dev:arm64)
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
# The browser test drives any Chromium it finds; don't pull in Debian's beside another one.
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  missing=("${missing[@]/chromium/}")
fi
# Any JDK with javac runs the JNI binding's tests; don't pull a second one in.
if command -v javac >/dev/null 2>&1; then
  missing=("${missing[@]/openjdk-17-jdk-headless/}")
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
for p in "${arm64_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
read -r -a missing <<<"${missing[*]:-}"
if [[ " ${missing[*]:-} " == *":arm64 "* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $sudo dpkg --add-architecture arm64
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
bash "$(dirname "$0")/python-env.sh"
bash "$(dirname "$0")/node-env.sh"
